import { describe, expect, it } from 'vitest';
import { defaultFinalMatcher } from '../../src/at/finals.js';

describe('data-path final matchers (built once per command)', () => {
  it('a reused CIPSEND matcher still tells its own link from another', () => {
    for (let round = 0; round < 3; round++) {
      const m = defaultFinalMatcher('AT+CIPSEND=0,1460', true);
      expect(m('DATA ACCEPT:0,1460')).toBe('final');
      expect(m('0, SEND OK')).toBe('final');
      expect(m('DATA ACCEPT:1,1460')).toBeUndefined();
      expect(m('0, SEND FAIL')).toBe('error');
      expect(m('+CME ERROR: 3')).toBe('error');
      const other = defaultFinalMatcher('AT+CIPSEND=1,1460', true);
      expect(other('DATA ACCEPT:1,1460')).toBe('final');
      expect(other('DATA ACCEPT:0,1460')).toBeUndefined();
    }
  });

  it('the same command with and without a payload gets different matchers', () => {
    const prompt = defaultFinalMatcher('AT+CIPSEND=2,10', true);
    const plain = defaultFinalMatcher('AT+CIPSEND=2,10', false);
    expect(prompt('DATA ACCEPT:2,10')).toBe('final');
    expect(plain('DATA ACCEPT:2,10')).toBeUndefined();
  });

  it('stateful matchers (AT+CIPSTATUS) are never shared between sends', () => {
    const a = defaultFinalMatcher('AT+CIPSTATUS', false);
    expect(a('OK')).toBe('await');
    const b = defaultFinalMatcher('AT+CIPSTATUS', false);
    // A fresh matcher is still waiting for OK; a shared one would be past it.
    expect(b('STATE: IP STATUS')).toBeUndefined();
    expect(a('STATE: IP STATUS')).toBe('settle');
  });

  it('many distinct data commands stay correct past the cache bound', () => {
    for (let len = 1; len <= 400; len++) {
      const m = defaultFinalMatcher(`AT+CIPSEND=${len % 6},${len}`, true);
      expect(m(`DATA ACCEPT:${len % 6},${len}`)).toBe('final');
      expect(m(`DATA ACCEPT:${(len + 1) % 6},${len}`)).toBeUndefined();
    }
  });
});
