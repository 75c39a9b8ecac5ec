import { describe, expect, it } from 'vitest';
import { decodeBinary, decodeText, encodeBinary, encodeText, frame, FrameReader } from '../../src/soak/message.js';
import { Rng } from '../../src/soak/rng.js';

const msg = (n: number, seq = 7) => ({ id: 'lua-text', conn: 3, seq, payload: new Rng(n, 9).bytes(n) });

describe('soak message codec', () => {
  it('round-trips binary and text messages of every size class', () => {
    for (const n of [0, 1, 3, 255, 4096, 70_000]) {
      const m = msg(n);
      for (const d of [decodeBinary(encodeBinary(m)), decodeText(encodeText(m))]) {
        if (!d.ok) throw new Error(d.reason);
        expect({ ...d.msg, payload: d.msg.payload.toString('hex') }).toEqual({
          ...m,
          payload: m.payload.toString('hex'),
        });
      }
    }
  });

  it('detects every single-byte change of a binary message, and every truncation', () => {
    const bytes = encodeBinary(msg(40));
    for (let i = 0; i < bytes.length; i++) {
      const bad = Buffer.from(bytes);
      bad[i] = bad[i]! ^ 0x20;
      expect(decodeBinary(bad).ok, `flip at ${i}`).toBe(false);
    }
    for (let n = 0; n < bytes.length; n++) expect(decodeBinary(bytes.subarray(0, n)).ok, `cut at ${n}`).toBe(false);
    expect(decodeBinary(Buffer.concat([bytes, Buffer.from([0])])).ok).toBe(false);
  });

  it('detects a changed character of a text message and a swapped seq', () => {
    const text = encodeText(msg(30));
    for (let i = 0; i < text.length; i++) {
      const c = text[i] === 'A' ? 'B' : 'A';
      const bad = text.slice(0, i) + c + text.slice(i + 1);
      if (bad === text) continue;
      expect(decodeText(bad).ok, `change at ${i}: ${bad}`).toBe(false);
    }
    const o = JSON.parse(text);
    o.seq += 1;
    expect(decodeText(JSON.stringify(o))).toMatchObject({ ok: false, reason: expect.stringContaining('SHA-256') });
    expect(decodeText('not json').ok).toBe(false);
    expect(decodeText('[]').ok).toBe(false);
  });

  it('refuses an id that cannot be framed', () => {
    expect(() => encodeBinary({ id: '', conn: 0, seq: 0, payload: Buffer.alloc(0) })).toThrow(
      expect.objectContaining({ code: 'ERR_SOAK_FRAME' }),
    );
    expect(() => encodeText({ id: 'a b', conn: 0, seq: 0, payload: Buffer.alloc(0) })).toThrow(
      expect.objectContaining({ code: 'ERR_SOAK_FRAME' }),
    );
  });
});

describe('FrameReader', () => {
  const bodies = [
    Buffer.alloc(0),
    Buffer.from('a'),
    new Rng(1).bytes(300),
    new Rng(2).bytes(5000),
    Buffer.from([0, 0, 0, 1]),
  ];
  const stream = Buffer.concat(bodies.map(frame));
  const feed = (chunks: Buffer[]) => {
    const r = new FrameReader(1 << 20);
    const out: Buffer[] = [];
    for (const c of chunks) out.push(...r.push(c));
    // Hex strings: deep equality on Buffers compares element by element and is slow.
    return { out: out.map((b) => b.toString('hex')), pending: r.pending };
  };
  const want = { out: bodies.map((b) => b.toString('hex')), pending: 0 };

  it('gives the same frames for every chunking: all at once, byte by byte, every two-way split, random splits', () => {
    expect(feed([stream])).toEqual(want);
    expect(feed([...stream].map((b) => Buffer.from([b])))).toEqual(want);
    for (let i = 0; i <= stream.length; i += 7) expect(feed([stream.subarray(0, i), stream.subarray(i)])).toEqual(want);
    const rng = new Rng(42);
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let o = 0; o < stream.length; ) {
        const n = rng.int(1, 700);
        chunks.push(stream.subarray(o, o + n));
        o += n;
      }
      expect(feed(chunks)).toEqual(want);
    }
  });

  it('holds an incomplete frame and refuses an oversized length with ERR_SOAK_FRAME', () => {
    expect(feed([stream.subarray(0, stream.length - 1)]).pending).toBeGreaterThan(0);
    const r = new FrameReader(100);
    expect(() => r.push(Buffer.from([0, 0, 0, 101]))).toThrow(expect.objectContaining({ code: 'ERR_SOAK_FRAME' }));
  });
});
