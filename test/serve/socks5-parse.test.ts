import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_AUTH,
  MAX_GREETING,
  MAX_REQUEST,
  parseGreeting,
  parseRequest,
  parseUserPass,
  type Parsed,
} from '../../src/serve/socks5-parse.js';

const VALID = {
  greeting: Buffer.from([5, 2, 0, 2]),
  auth: Buffer.concat([Buffer.from([1, 5]), Buffer.from('alice'), Buffer.from([3]), Buffer.from('pwd')]),
  ipv4: Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]),
  domain: Buffer.concat([Buffer.from([5, 1, 0, 3, 11]), Buffer.from('example.com'), Buffer.from([0, 80])]),
  ipv6: Buffer.from([5, 1, 0, 4, ...Array(15).fill(0), 1, 1, 187]),
};

function check<T>(parse: (b: Buffer) => Parsed<T>, valid: Buffer): void {
  // Every truncation is a valid prefix: the parser waits, never fails or answers early.
  for (let n = 0; n < valid.length; n++) expect(parse(valid.subarray(0, n)).kind, `prefix of ${n}`).toBe('more');
  const full = parse(valid);
  expect(full.kind).toBe('ok');
  // Bytes after the message are left for later (optimistic data).
  const more = parse(Buffer.concat([valid, Buffer.from('GET / HTTP/1.1\r\n')]));
  expect(more.kind === 'ok' && more.length).toBe(valid.length);
}

describe('SOCKS5 parsers', () => {
  it('wait on every truncation of a valid message and read the whole one', () => {
    check(parseGreeting, VALID.greeting);
    check(parseUserPass, VALID.auth);
    check(parseRequest, VALID.ipv4);
    check(parseRequest, VALID.domain);
    check(parseRequest, VALID.ipv6);
    expect(parseRequest(VALID.domain)).toMatchObject({ value: { type: 'domain', host: 'example.com', port: 80 } });
    expect(parseRequest(VALID.ipv6)).toMatchObject({ value: { type: 'ipv6', host: '0:0:0:0:0:0:0:1', port: 443 } });
    expect(parseUserPass(VALID.auth)).toMatchObject({ kind: 'ok' });
  });

  it('refuse with the prescribed reply: bad version, no method, empty name, unknown type, other commands', () => {
    expect(parseGreeting(Buffer.from([4, 1, 0]))).toMatchObject({ kind: 'bad' });
    expect(parseGreeting(Buffer.from([5, 1, 0])).kind).toBe('ok');
    expect(parseGreeting(Buffer.from([5, 0]))).toMatchObject({ kind: 'bad', reply: Buffer.from([5, 0xff]) });
    expect(parseUserPass(Buffer.from([1, 0]))).toMatchObject({ kind: 'bad', reply: Buffer.from([1, 1]) });
    expect(parseUserPass(Buffer.from([2, 1, 0x61, 1, 0x62]))).toMatchObject({
      kind: 'bad',
      reply: Buffer.from([1, 1]),
    });
    const rep = (b: Buffer) => {
      const r = parseRequest(b);
      return r.kind === 'bad' ? r.reply?.[1] : r.kind;
    };
    expect(rep(Buffer.from([5, 1, 0, 3, 0, 0, 80]))).toBe(0x04);
    expect(rep(Buffer.from([5, 1, 0, 7, 1, 2, 3, 4, 0, 80]))).toBe(0x08);
    expect(rep(Buffer.from([5, 2, 0, 1, 1, 2, 3, 4, 0, 80]))).toBe(0x07);
    expect(rep(Buffer.from([5, 1, 0, 1, 1, 2, 3, 4, 0, 0]))).toBe(0x04);
    expect(rep(Buffer.concat([Buffer.from([5, 1, 0, 3, 5]), Buffer.from('a"b\r\n'), Buffer.from([0, 80])]))).toBe(0x04);
  });

  it('random input: never throws, never reads past the buffer or a message bound, ok is reproducible', () => {
    const bounds: Array<[(b: Buffer) => Parsed<unknown>, number]> = [
      [parseGreeting, MAX_GREETING],
      [parseUserPass, MAX_AUTH],
      [parseRequest, MAX_REQUEST],
    ];
    fc.assert(
      // size 'max': fast-check's default size keeps arrays under ~10 bytes, below every bound.
      fc.property(fc.uint8Array({ maxLength: 700, size: 'max' }), fc.boolean(), (bytes, versioned) => {
        const b = Buffer.from(bytes);
        if (versioned && b.length > 0) b[0] = 5;
        for (const [parse, max] of bounds) {
          const r = parse(b);
          if (r.kind === 'ok') {
            expect(r.length).toBeLessThanOrEqual(Math.min(b.length, max));
            expect(parse(b.subarray(0, r.length))).toEqual(r);
          }
          // A buffer of the maximum size always decides.
          if (b.length >= max) expect(r.kind).not.toBe('more');
        }
      }),
      { numRuns: 3000 },
    );
    // And at exactly the bound, whatever the bytes: a decision, never 'more'.
    for (const [parse, max] of bounds) {
      for (const fill of [0, 5, 0xff]) expect(parse(Buffer.alloc(max, fill)).kind).not.toBe('more');
    }
  });
});
