/**
 * Fuzzing the websocket frame decoder with random valid and invalid server frame streams in random
 * chunks. Valid frames are encoded by the `ws` package's Sender.frame (an independent reference),
 * invalid ones by a tiny raw encoder below. Valid streams must decode to exactly the messages put
 * in; an invalid frame must end decoding with one error carrying the right close code
 * (1002 / 1007 / 1009), and a length announcement must never reserve memory beyond maxPayload.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as wsPackage from 'ws';
import { encodeFrame } from '../../src/ws/frame.js';
import { Receiver } from '../../src/ws/receiver.js';
import { chunk, chunkingArb, largestAllocation, params } from './util.js';

type Ev = [string, ...unknown[]];

/** ws's frame encoder (exported by the package at runtime, not declared by @types/ws). */
const Sender = (wsPackage as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender;

/** Reference encoding of an unmasked server frame (ws's own encoder). */
function refFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const parts = Sender.frame(payload, { fin, opcode, mask: false, readOnly: false, rsv1: false });
  return Buffer.concat(parts);
}

/** Raw frame with every field under control, for the invalid cases. */
function rawFrame(o: {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  masked?: boolean;
  len?: number | bigint;
  form?: 7 | 16 | 64;
  payload?: Buffer;
}): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const len = o.len ?? payload.length;
  const form = o.form ?? (Number(len) < 126 ? 7 : Number(len) < 65536 ? 16 : 64);
  const head = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | o.opcode];
  const m = o.masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (form === 7) head.push(m | Number(len));
  else if (form === 16) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  const mask = o.masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from(head), ext, mask, payload]);
}

function closeBody(code: number, reason: Buffer): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
}

function decode(chunks: Buffer[], maxPayload: number, frames = false): { events: Ev[]; largest: number } {
  const events: Ev[] = [];
  const { largest } = largestAllocation(() => {
    const r = new Receiver(
      { maxPayload, frames },
      {
        message: (d, bin) => events.push(['message', bin ? 'bin' : 'text', d.toString('hex')]),
        fragment: (d, fin, op) => events.push(['fragment', op, fin, d.toString('hex')]),
        ping: (d) => events.push(['ping', d.toString('hex')]),
        pong: (d) => events.push(['pong', d.toString('hex')]),
        close: (code, reason) => events.push(['close', code, reason]),
        error: (e) => events.push(['error', e.code, e.closeCode]),
      },
    );
    for (const c of chunks) r.push(c);
  });
  return { events, largest };
}

// ---- valid streams -----------------------------------------------------------------------

interface Msg {
  binary: boolean;
  /** Text, or the size of a large payload (described, so counterexamples print short). */
  data: string | { bigUtf8Chars: number };
  /** Cut points of the fragments (byte offsets, may fall inside a UTF-8 sequence). */
  cuts: number[];
  /** Control frames between fragments: [after fragment i, opcode, payload]. */
  controls: Array<[number, 9 | 10, Buffer]>;
}

const controlPayload = fc.uint8Array({ maxLength: 125 }).map((a) => Buffer.from(a));
const msgArb: fc.Arbitrary<Msg> = fc.record({
  binary: fc.boolean(),
  data: fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 2, arbitrary: fc.record({ bigUtf8Chars: fc.integer({ min: 63, max: 35_000 }) }) },
    { weight: 1, arbitrary: fc.constant('') },
  ),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  controls: fc.array(fc.tuple(fc.nat(5), fc.constantFrom<9 | 10>(9, 10), controlPayload), { maxLength: 3 }),
});

/** Bytes of a message as fragments with control frames between them, and the events expected. */
function msgData(m: Msg): Buffer {
  return typeof m.data === 'string'
    ? Buffer.from(m.data, 'utf8')
    : Buffer.from('é'.repeat(m.data.bigUtf8Chars), 'utf8');
}

function encodeMsg(m: Msg): { bytes: Buffer; events: Ev[]; fragEvents: Ev[] } {
  const data = msgData(m);
  const pts = [...new Set(m.cuts.map((c) => c % (data.length + 1)))]
    .sort((a, b) => a - b)
    .filter((p) => p > 0 && p < data.length);
  const bounds = [0, ...pts, data.length];
  const pieces = bounds.slice(1).map((end, i) => data.subarray(bounds[i], end));
  const parts: Buffer[] = [];
  const ctl: Ev[] = [];
  const fragEvents: Ev[] = [];
  const op = m.binary ? 2 : 1;
  pieces.forEach((p, i) => {
    const fin = i === pieces.length - 1;
    parts.push(refFrame(i === 0 ? op : 0, p, fin));
    fragEvents.push(['fragment', i === 0 ? op : 0, fin, p.toString('hex')]);
    if (!fin) {
      for (const [at, cop, cp] of m.controls) {
        if (at % pieces.length !== i) continue;
        parts.push(refFrame(cop, cp));
        const e: Ev = [cop === 9 ? 'ping' : 'pong', cp.toString('hex')];
        ctl.push(e);
        fragEvents.push(e);
      }
    }
  });
  return {
    bytes: Buffer.concat(parts),
    events: [...ctl, ['message', m.binary ? 'bin' : 'text', data.toString('hex')]],
    fragEvents,
  };
}

const MAX = 80_000;

describe('frame decoder fuzz: valid streams', () => {
  it('random messages, fragmented, with pings/pongs between fragments, in random chunks decode exactly [seed 78401]', () => {
    fc.assert(
      fc.property(
        fc.array(msgArb, { minLength: 1, maxLength: 5 }),
        fc.option(fc.tuple(fc.constantFrom(1000, 1001, 1003, 1011, 3000, 4999), fc.string({ maxLength: 40 })), {
          nil: undefined,
        }),
        chunkingArb,
        fc.boolean(),
        (msgs, close, c, frames) => {
          const enc = msgs.map(encodeMsg);
          const parts = enc.map((e) => e.bytes);
          const expected = enc.flatMap((e) => (frames ? e.fragEvents : e.events));
          if (close) {
            const reason = Buffer.from(close[1]).subarray(0, 123);
            // Cutting the reason at 123 bytes may split a character: then it must fail with 1007.
            const validReason = Buffer.from(reason.toString('utf8')).equals(reason);
            parts.push(refFrame(8, closeBody(close[0], reason)));
            expected.push(
              validReason ? ['close', close[0], reason.toString('utf8')] : ['error', 'ERR_WS_INVALID_UTF8', 1007],
            );
            parts.push(refFrame(1, Buffer.from('after close: never decoded')));
          }
          const input = Buffer.concat(parts);
          const { events, largest } = decode(chunk(input, c), MAX, frames);
          expect(events).toEqual(expected);
          expect(largest).toBeLessThanOrEqual(MAX);
        },
      ),
      params(78401, 150),
    );
  });

  it('holding and releasing the decoder at random events and chunks changes no event [seed 78405]', () => {
    fc.assert(
      fc.property(
        fc.array(msgArb, { minLength: 1, maxLength: 5 }),
        chunkingArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (msgs, c, holds, frames) => {
          const enc = msgs.map(encodeMsg);
          const expected = enc.flatMap((e) => (frames ? e.fragEvents : e.events));
          const events: Ev[] = [];
          let k = 0;
          // After some events the consumer is "full": the decoder is held until the next chunk.
          const maybeHold = () => {
            if (holds[k++ % holds.length]) r.hold();
          };
          const r: Receiver = new Receiver(
            { maxPayload: MAX, frames },
            {
              message: (d, bin) => {
                events.push(['message', bin ? 'bin' : 'text', d.toString('hex')]);
                maybeHold();
              },
              fragment: (d, fin, op) => {
                events.push(['fragment', op, fin, d.toString('hex')]);
                maybeHold();
              },
              ping: (d) => {
                events.push(['ping', d.toString('hex')]);
                maybeHold();
              },
              pong: (d) => events.push(['pong', d.toString('hex')]),
              close: (code, reason) => events.push(['close', code, reason]),
              error: (e) => events.push(['error', e.code, e.closeCode]),
            },
          );
          for (const piece of chunk(Buffer.concat(enc.map((e) => e.bytes)), c)) {
            const wasHeld = r.holding;
            const before = events.length;
            const accepted = r.push(piece);
            expect(accepted).toBe(!r.holding);
            // A held decoder only buffers.
            if (wasHeld) expect(events.length).toBe(before);
            if (holds[k % holds.length]) r.release();
          }
          for (let i = 0; i < 10_000 && r.holding; i++) r.release();
          expect(events).toEqual(expected);
        },
      ),
      params(78405, 80),
    );
  });

  it('encodeFrame (client side) is byte-identical to ws Sender.frame with the same mask key [seed 78402]', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.integer({ min: 65_530, max: 66_000 }).map((n) => new Uint8Array(n).fill(7)),
        ),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.constantFrom(0, 1, 2, 8, 9, 10),
        fc.boolean(),
        fc.boolean(),
        fc.nat(3),
        (payload, key, opcode, fin, rsv1, offset) => {
          // An unaligned view, to exercise the word-wise masking from any start address.
          const backing = new Uint8Array(payload.length + offset);
          backing.set(payload, offset);
          const view = backing.subarray(offset);
          const ours = encodeFrame({ fin, rsv1, opcode, payload: view, maskKey: key });
          const maskBuffer = Buffer.from(key);
          const ref = Buffer.concat(
            Sender.frame(Buffer.from(payload), {
              fin,
              rsv1,
              opcode,
              mask: true,
              readOnly: false,
              maskBuffer,
              generateMask: () => {},
            }),
          );
          expect(ours.equals(ref)).toBe(true);
          expect(Buffer.from(view).equals(Buffer.from(payload))).toBe(true); // caller's bytes untouched
        },
      ),
      params(78402, 400),
    );
  });
});

// ---- invalid streams ---------------------------------------------------------------------

interface Bad {
  name: string;
  bytes: Buffer;
  code: 'ERR_WS_PROTOCOL' | 'ERR_WS_INVALID_UTF8' | 'ERR_WS_MESSAGE_TOO_BIG';
  close: 1002 | 1007 | 1009;
}

const invalidUtf8 = fc
  .tuple(
    fc.string({ maxLength: 20 }),
    fc.constantFrom(
      [0xff],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x28, 0xa1],
      [0x80],
      [0xf0, 0x8f, 0xbf, 0xbf],
    ),
    fc.string({ maxLength: 20 }),
  )
  .map(([a, bad, b]) => Buffer.concat([Buffer.from(a), Buffer.from(bad), Buffer.from(b)]));

function badArb(maxPayload: number): fc.Arbitrary<Bad> {
  const P = (name: string, bytes: Buffer): Bad => ({ name, bytes, code: 'ERR_WS_PROTOCOL', close: 1002 });
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 9))
      .map(([rsv, op]) =>
        P(`rsv ${rsv << 1} on op ${op}`, rawFrame({ rsv: rsv === 1 ? 2 : rsv === 2 ? 1 : 3, opcode: op })),
      ),
    fc
      .constantFrom(1, 2)
      .map((op) => P('rsv1 without deflate', rawFrame({ rsv: 4, opcode: op, payload: Buffer.from('x') }))),
    fc
      .constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf)
      .map((op) => P(`reserved opcode ${op}`, rawFrame({ opcode: op }))),
    fc
      .constantFrom(1, 2, 8, 9, 10)
      .map((op) => P('masked server frame', rawFrame({ opcode: op, masked: true, payload: Buffer.from('ab') }))),
    fc
      .tuple(fc.constantFrom(8, 9, 10), fc.integer({ min: 126, max: 70_000 }))
      .map(([op, n]) => P('control payload over 125', rawFrame({ opcode: op, len: n }))),
    fc.constantFrom(8, 9, 10).map((op) => P('fragmented control', rawFrame({ opcode: op, fin: false }))),
    fc
      .boolean()
      .map((fin) =>
        P('continuation with nothing to continue', rawFrame({ opcode: 0, fin, payload: Buffer.from('x') })),
      ),
    fc
      .constantFrom(1, 2)
      .map((op) =>
        P(
          'new message inside a fragmented one',
          Buffer.concat([rawFrame({ opcode: 2, fin: false, payload: Buffer.from('a') }), rawFrame({ opcode: op })]),
        ),
      ),
    fc.constant(P('close with a 1-byte body', rawFrame({ opcode: 8, payload: Buffer.from([3]) }))),
    fc
      .constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)
      .map((code) => P(`close code ${code}`, rawFrame({ opcode: 8, payload: closeBody(code, Buffer.alloc(0)) }))),
    fc
      .bigInt({ min: 1n << 63n, max: (1n << 64n) - 1n })
      .map((len) => P('64-bit length with the top bit set', rawFrame({ opcode: 2, len, form: 64 }))),
    invalidUtf8.map(
      (r): Bad => ({
        name: 'close reason not UTF-8',
        bytes: rawFrame({ opcode: 8, payload: closeBody(1000, r.subarray(0, 123)) }),
        code: 'ERR_WS_INVALID_UTF8',
        close: 1007,
      }),
    ),
    fc.tuple(invalidUtf8, fc.nat()).map(([d, cut]): Bad => {
      const at = cut % (d.length + 1);
      return {
        name: 'text not UTF-8 (maybe split over fragments)',
        bytes: Buffer.concat([
          rawFrame({ opcode: 1, fin: false, payload: d.subarray(0, at) }),
          rawFrame({ opcode: 0, payload: d.subarray(at) }),
        ]),
        code: 'ERR_WS_INVALID_UTF8',
        close: 1007,
      };
    }),
    fc.constantFrom([0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98]).map(
      (tail): Bad => ({
        name: 'text ends inside a character',
        bytes: rawFrame({ opcode: 1, payload: Buffer.concat([Buffer.from('ok'), Buffer.from(tail)]) }),
        code: 'ERR_WS_INVALID_UTF8',
        close: 1007,
      }),
    ),
    // Only the header: the error must come before any payload byte is waited for or buffered.
    fc
      .tuple(fc.constantFrom(1, 2), fc.constantFrom<7 | 16 | 64>(7, 16, 64), fc.integer({ min: 1, max: 1000 }))
      .map(([op, form, extra]): Bad => {
        const len = BigInt(maxPayload + extra);
        const f: 7 | 16 | 64 = len >= 65536n ? 64 : len >= 126n && form === 7 ? 16 : form;
        return {
          name: 'one frame over maxPayload (header only)',
          bytes: rawFrame({ opcode: op, len, form: f }),
          code: 'ERR_WS_MESSAGE_TOO_BIG',
          close: 1009,
        };
      }),
    fc.bigInt({ min: (1n << 53n) - 1n, max: (1n << 63n) - 1n }).map(
      (len): Bad => ({
        name: 'length 2^53 and beyond (header only)',
        bytes: rawFrame({ opcode: 2, len, form: 64 }),
        code: 'ERR_WS_MESSAGE_TOO_BIG',
        close: 1009,
      }),
    ),
    fc.integer({ min: 1, max: 4 }).map((n): Bad => {
      // Fragments that each fit, whose sum does not: refused at the header of the one that overflows.
      const size = Math.ceil(maxPayload / n);
      const frags = Array.from({ length: n }, (_, i) =>
        rawFrame({ opcode: i === 0 ? 2 : 0, fin: false, payload: Buffer.alloc(size, 1) }),
      );
      return {
        name: 'fragments summing over maxPayload',
        bytes: Buffer.concat([...frags, rawFrame({ opcode: 0, len: 1 })]),
        code: 'ERR_WS_MESSAGE_TOO_BIG',
        close: 1009,
      };
    }),
  );
}

describe('frame decoder fuzz: invalid streams', () => {
  it('a valid prefix, one invalid frame, then more frames: prefix events, exactly one error with the right close code, nothing after [seed 78403]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 20_000 }).chain((maxPayload) =>
          fc.record({
            maxPayload: fc.constant(maxPayload),
            prefix: fc.array(
              msgArb.filter((m) => msgData(m).length <= maxPayload),
              { maxLength: 3 },
            ),
            bad: badArb(maxPayload),
            after: fc.array(
              msgArb.filter((m) => msgData(m).length <= 200),
              { maxLength: 2 },
            ),
          }),
        ),
        chunkingArb,
        ({ maxPayload, prefix, bad, after }, c) => {
          const pre = prefix.map(encodeMsg);
          const input = Buffer.concat([...pre.map((e) => e.bytes), bad.bytes, ...after.map((m) => encodeMsg(m).bytes)]);
          const { events, largest } = decode(chunk(input, c), maxPayload);
          expect(events, bad.name).toEqual([...pre.flatMap((e) => e.events), ['error', bad.code, bad.close]]);
          // No allocation sized by a hostile length: at most one message's worth.
          expect(largest, bad.name).toBeLessThanOrEqual(maxPayload);
        },
      ),
      params(78403, 600),
    );
  });

  it('arbitrary bytes never throw, never emit after an error or close, and stay within maxPayload [seed 78404]', () => {
    const soup = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
        fc
          .constantFrom(0x81, 0x82, 0x01, 0x00, 0x80, 0x88, 0x89, 0x8a, 0x7e, 0x7f, 0xff, 0xc1)
          .map((b) => Buffer.from([b])),
        fc.constantFrom(
          rawFrame({ opcode: 1, fin: false, payload: Buffer.from('ab') }),
          rawFrame({ opcode: 0, payload: Buffer.from('c') }),
          rawFrame({ opcode: 9 }),
          Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
        ),
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(
        soup,
        chunkingArb,
        fc.integer({ min: 1, max: 5000 }),
        fc.boolean(),
        (pieces, c, maxPayload, frames) => {
          const input = Buffer.concat(pieces);
          const whole = decode([input], maxPayload, frames);
          const split = decode(chunk(input, c), maxPayload, frames);
          // Both runs saw every byte, so the chunking must not change a single event.
          expect(split.events).toEqual(whole.events);
          const ends = whole.events.filter((e) => e[0] === 'error' || e[0] === 'close');
          expect(ends.length).toBeLessThanOrEqual(1);
          if (ends.length === 1) expect(whole.events.at(-1)).toBe(ends[0]);
          for (const e of whole.events) if (e[0] === 'error') expect([1002, 1007, 1009]).toContain(e[2]);
          expect(Math.max(whole.largest, split.largest)).toBeLessThanOrEqual(Math.max(maxPayload, 125));
        },
      ),
      params(78404, 800),
    );
  });
});
