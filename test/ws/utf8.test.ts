import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { Utf8Validator } from '../../src/ws/utf8.js';

function validateChunked(buf: Uint8Array, cuts: number[]): { ok: boolean; failedAt: number } {
  const v = new Utf8Validator();
  let pos = 0;
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  points.push(buf.length);
  for (const p of points) {
    if (p < pos) continue;
    if (!v.write(buf.subarray(pos, p))) return { ok: false, failedAt: p };
    pos = p;
  }
  return { ok: v.complete, failedAt: -1 };
}

// Bytes biased towards UTF-8 lead/continuation bytes so that both valid and invalid inputs are common.
const utf8ish = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0xbf }),
    fc.integer({ min: 0xc0, max: 0xff }),
    fc.constantFrom(0xe0, 0xed, 0xf0, 0xf4, 0xef, 0xbf),
  ),
  { maxLength: 40 },
);

describe('Utf8Validator', () => {
  it('agrees with the native check on arbitrary bytes, whatever the chunking', () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const buf = Uint8Array.from(bytes);
        expect(validateChunked(buf, cuts).ok).toBe(isUtf8(buf));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees on valid text of every script, byte by byte and in long chunks', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.nat(), { maxLength: 4 }), (s, cuts) => {
        const buf = Buffer.from(s, 'utf8');
        expect(validateChunked(buf, cuts).ok).toBe(true);
        const v = new Utf8Validator();
        for (const b of buf) expect(v.write(Uint8Array.of(b))).toBe(true);
        expect(v.complete).toBe(true);
      }),
    );
  });

  it.each([
    ['overlong 2-byte', [0xc0, 0x80]],
    ['overlong 3-byte', [0xe0, 0x80, 0x80]],
    ['overlong 4-byte', [0xf0, 0x8f, 0xbf, 0xbf]],
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xFE', [0xfe]],
    ['lone continuation', [0x80]],
  ])('rejects %s at the first impossible byte', (_name, seq) => {
    const v = new Utf8Validator();
    // A long valid ASCII prefix exercises the native fast path before the bad sequence.
    expect(v.write(Buffer.from('x'.repeat(40)))).toBe(true);
    let failedAt = -1;
    seq.forEach((b, i) => {
      if (failedAt < 0 && !v.write(Uint8Array.of(b))) failedAt = i;
    });
    expect(failedAt).toBeGreaterThanOrEqual(0);
    expect(failedAt).toBeLessThan(seq.length);
  });

  it('fails fast inside a long chunk and reports an unfinished sequence as incomplete', () => {
    const v = new Utf8Validator();
    expect(v.write(Buffer.concat([Buffer.from('κόσμε'.repeat(10)), Buffer.from([0xce])]))).toBe(true);
    expect(v.complete).toBe(false);
    expect(v.write(Buffer.from([0xba]))).toBe(true);
    expect(v.complete).toBe(true);
    const w = new Utf8Validator();
    expect(w.write(Buffer.concat([Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('a'.repeat(100))]))).toBe(false);
  });
});
