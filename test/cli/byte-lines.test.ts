/** readByteLines: LF-split lines as exact bytes, whatever the chunking of the input. */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readByteLines } from '../../src/cli/byte-lines.js';

type Event = ['line', string] | ['overflow', number] | ['end'];

/** Feeds `input` in pieces ending at `cuts` and collects what readByteLines reports (lines as hex). */
async function run(input: Buffer, cuts: number[], max = 1024): Promise<Event[]> {
  const stream = new PassThrough();
  const events: Event[] = [];
  const done = new Promise<void>((resolve) =>
    readByteLines(stream, max, {
      line: (b) => events.push(['line', b.toString('hex')]),
      overflow: (n) => events.push(['overflow', n]),
      end: () => {
        events.push(['end']);
        resolve();
      },
    }),
  );
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < input.length)].sort((a, b) => a - b).concat(input.length)) {
    if (cut > at) stream.write(input.subarray(at, cut));
    at = cut;
  }
  stream.end();
  await done;
  return events;
}

/** What the lines are, computed independently: split at every LF, the last piece only if non-empty. */
function expected(input: Buffer, max = 1024): Event[] {
  const out: Event[] = [];
  const pieces: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== 0x0a) continue;
    pieces.push(input.subarray(start, i));
    start = i + 1;
  }
  const last = input.subarray(start);
  for (const p of pieces) out.push(p.length > max ? ['overflow', p.length] : ['line', p.toString('hex')]);
  if (last.length > 0) out.push(last.length > max ? ['overflow', last.length] : ['line', last.toString('hex')]);
  out.push(['end']);
  return out;
}

const sample = Buffer.from([0x61, 0xff, 0xfe, 0x0d, 0x62, 0x0a, 0x0a, 0x00, 0x80, 0x0d, 0x0a, 0xc3, 0x0a, 0x7a]);

describe('readByteLines', () => {
  it('keeps every byte but the LF (CR, NUL, invalid UTF-8 included); an empty line is a line; a last line without LF counts', async () => {
    expect(await run(sample, [])).toEqual([
      ['line', '61fffe0d62'],
      ['line', ''],
      ['line', '00800d'],
      ['line', 'c3'],
      ['line', '7a'],
      ['end'],
    ]);
  });

  it('gives the same lines byte by byte, all at once, and at random splits', async () => {
    expect(await run(sample, [...sample.keys()])).toEqual(expected(sample));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200)), async (bytes, cuts) => {
        const input = Buffer.from(bytes.map((b) => (b % 7 === 0 ? 0x0a : b)));
        expect(await run(input, cuts)).toEqual(expected(input));
      }),
      { numRuns: 300 },
    );
  });

  it('a line over the bound is reported with its size, not sent in pieces; the lines around it are kept', async () => {
    const input = Buffer.concat([
      Buffer.from('ok\n'),
      Buffer.alloc(40, 0x41),
      Buffer.from('\nafter\n'),
      Buffer.alloc(33, 0x42),
    ]);
    for (const cuts of [[], [...input.keys()], [5, 20, 44]]) {
      expect(await run(input, cuts, 32)).toEqual([
        ['line', '6f6b'],
        ['overflow', 40],
        ['line', Buffer.from('after').toString('hex')],
        ['overflow', 33],
        ['end'],
      ]);
    }
    const random = Buffer.concat([
      Buffer.alloc(10, 1),
      Buffer.from('\n'),
      Buffer.alloc(50, 2),
      Buffer.from('\n'),
      Buffer.alloc(32, 3),
    ]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(100)), async (cuts) => {
        expect(await run(random, cuts, 32)).toEqual(expected(random, 32));
      }),
      { numRuns: 100 },
    );
  });
});
