import { describe, expect, it } from 'vitest';
import { defaultFinalMatcher } from '../../src/at/index.js';

describe('CIPSEND finals: DATA ACCEPT counts', () => {
  it('a count up to the length sent ends the send; a larger one cannot be true of it and fails it', () => {
    const m = defaultFinalMatcher('AT+CIPSEND=2,10', true);
    expect(m('DATA ACCEPT:2,10')).toBe('final');
    expect(m('DATA ACCEPT:2,4')).toBe('final');
    expect(m('DATA ACCEPT: 2, 0')).toBe('final');
    expect(m('DATA ACCEPT:2,11')).toBe('error');
    expect(m('DATA ACCEPT:3,4')).toBeUndefined();
    expect(m('2, SEND OK')).toBe('final');
    expect(m('2, SEND FAIL')).toBe('error');
  });
});
