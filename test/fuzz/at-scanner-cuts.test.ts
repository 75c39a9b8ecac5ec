/**
 * Property (issue 15): a stream of blocks and URCs cut at a random byte (the module lost power),
 * then silence, then `RDY` and more output. Whatever the cut position, trailer setting and
 * chunking, the scanner never emits a block holding bytes from after the cut, recognises `RDY`,
 * and reads the block after it intact.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AtScanner, type AtToken } from '../../src/at/index.js';
import { chunk, chunkingArb, params } from './util.js';

interface Piece {
  bytes: Buffer;
  /** Data of the block this piece is, if it is one. */
  data?: Buffer;
  /** Bytes of the piece the scanner needs to emit the block (header, data and the checked CRLF). */
  needs?: number;
}

function block(header: string, d: Buffer, tail: string, checked: number): Piece {
  const h = Buffer.from(header);
  return { bytes: Buffer.concat([h, d, Buffer.from(tail)]), data: d, needs: h.length + d.length + checked };
}

const dataArb = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a));
const urcArb = fc.constantFrom('0, CONNECT OK', 'OK', '+CIPRXGET: 1,2', '1, CLOSED', 'DATA ACCEPT:0,5', '+CSQ: 19,0');

function pieceArb(trailer: boolean): fc.Arbitrary<Piece> {
  return fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 5 }), dataArb)
      .map(([n, d]) => block(`\r\n+RECEIVE,${n},${d.length}:\r\n`, d, trailer ? '\r\n' : '', trailer ? 2 : 0)),
    fc
      .tuple(fc.integer({ min: 0, max: 5 }), dataArb)
      .map(([n, d]) => block(`\r\n+CIPRXGET: 2,${n},${d.length},0\r\n`, d, '\r\n\r\nOK\r\n', 2)),
    urcArb.map((l) => ({ bytes: Buffer.from(`\r\n${l}\r\n`) })),
  );
}

const BOUND = 300;
const AFTER = Buffer.from('\r\nRDY\r\n\r\n^MODE: 17,17\r\n\r\n+RECEIVE,5,3:\r\nEND\r\n');

afterEach(() => {
  vi.useRealTimers();
});

describe('AtScanner: random cuts', () => {
  it('never emits a block with bytes from after the cut; RDY and the next block are read [seed 78101]', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    const arb = fc.boolean().chain((trailer) =>
      fc.record({
        trailer: fc.constant(trailer),
        pieces: fc.array(pieceArb(trailer), { minLength: 1, maxLength: 12 }),
        cutAt: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        before: chunkingArb,
        after: chunkingArb,
      }),
    );
    fc.assert(
      fc.property(arb, ({ trailer, pieces, cutAt, before, after }) => {
        const stream = Buffer.concat(pieces.map((p) => p.bytes));
        const cut = Math.floor(cutAt * stream.length);
        // The blocks wholly before the cut: the only ones that may be emitted before RDY.
        const whole: Buffer[] = [];
        let off = 0;
        for (const p of pieces) {
          if (p.data && off + p.needs! <= cut) whole.push(p.data);
          off += p.bytes.length;
        }
        const tokens: AtToken[] = [];
        const s = new AtScanner((t) => tokens.push(t), { blockSilenceMs: BOUND, receiveTrailer: trailer });
        for (const c of chunk(stream.subarray(0, cut), before)) s.push(c);
        vi.advanceTimersByTime(BOUND * 2);
        for (const c of chunk(AFTER, after)) s.push(c);
        s.reset();

        const rdy = tokens.findIndex((t) => t.type === 'line' && t.line === 'RDY');
        expect(rdy).toBeGreaterThanOrEqual(0);
        const blocksBefore = tokens.slice(0, rdy).filter((t) => t.type === 'block');
        // In order, each one a whole block from before the cut, byte-exact.
        expect(blocksBefore.map((t) => (t.type === 'block' ? t.data.toString('hex') : ''))).toEqual(
          whole.map((d) => d.toString('hex')),
        );
        const blocksAfter = tokens.slice(rdy).filter((t) => t.type === 'block');
        expect(blocksAfter.map((t) => (t.type === 'block' ? t.data.toString('latin1') : ''))).toEqual(['END']);
        expect(tokens.slice(rdy).some((t) => t.type === 'line' && t.line === '^MODE: 17,17')).toBe(true);
      }),
      params(78101, 400),
    );
  });
});
