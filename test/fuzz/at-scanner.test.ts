/**
 * Fuzzing the AT scanner with hostile module output: a model-based property (random token
 * streams whose expected tokens are known, in random chunks), chunk invariance on arbitrary byte
 * soup, and bounded memory under adversarial input (no line end for megabytes, huge announced
 * lengths, endless `+RECEIVE` headers).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtScanner, type AtToken } from '../../src/at/index.js';
import { chunk, chunkingArb, largestAllocation, params, type Chunking } from './util.js';

const MAX_LINE = 256;
const MAX_BLOCK = 1460;
/** pendingBytes may hold an unfinished line (≤ maxLineLength) or an unfinished block header (< 40 bytes). */
const PENDING_BOUND = Math.max(MAX_LINE, 40);

type Flat =
  | { type: 'line' | 'echo'; line: string }
  | { type: 'prompt' }
  | { type: 'block'; kind: string; line: string; link?: number; hex: string }
  | { type: 'garbage'; reason: string; preview: string };

function flat(t: AtToken): Flat {
  if (t.type === 'block') {
    const f: Flat = { type: 'block', kind: t.kind, line: t.line, hex: t.data.toString('hex') };
    if (t.link !== undefined) f.link = t.link;
    return f;
  }
  return { ...t } as Flat;
}

/** Scan chunk by chunk, checking the buffer bound and block sizes after every push. */
function scan(chunks: Buffer[], options = { maxLineLength: MAX_LINE, maxBlockLength: MAX_BLOCK }): Flat[] {
  const out: Flat[] = [];
  const s = new AtScanner((t) => {
    if (t.type === 'block') expect(t.data.length).toBeLessThanOrEqual(options.maxBlockLength);
    out.push(flat(t));
  }, options);
  for (const c of chunks) {
    s.push(c);
    expect(s.pendingBytes).toBeLessThanOrEqual(Math.max(options.maxLineLength, 40));
  }
  return out;
}

// ---- model: items with known bytes and known tokens --------------------------------------

interface Item {
  bytes: Buffer;
  tokens: Flat[];
}

const sepArb = fc.constantFrom('\r\n', '\n', '\r', '\r\n\r\n', '\0\r\n', '\r\n\0');
const eolArb = fc.constantFrom('\r\n', '\n', '\r');
/** Any byte but CR / LF (NUL, control bytes, invalid UTF-8 included). */
const textByte = fc.integer({ min: 0, max: 255 }).filter((x) => x !== 0x0d && x !== 0x0a);
/** First byte of a plain line: not a separator, not one that starts a prompt, header or echo. */
const firstByte = textByte.filter((x) => x !== 0x00 && x !== 0x3e && x !== 0x2b && x !== 0x41 && x !== 0x61);

const plainLine: fc.Arbitrary<Item> = fc
  .tuple(
    firstByte,
    fc.uint8Array({ maxLength: 120 }).map((a) => a.filter((x) => x !== 0x0d && x !== 0x0a)),
    eolArb,
    sepArb,
  )
  .map(([f, rest, eol, sep]) => {
    const text = Buffer.from([f, ...rest]);
    return {
      bytes: Buffer.concat([Buffer.from(sep), text, Buffer.from(eol)]),
      tokens: [{ type: 'line', line: text.toString('utf8') }],
    };
  });

/** Lines that start like a block header but are not one: they must stay plain lines. */
const nearHeader: fc.Arbitrary<Item> = fc
  .tuple(
    fc.constantFrom(
      '+RECEIVE,',
      '+RECEIVE,0',
      '+RECEIVE,0,5',
      '+RECEIVE,x,5:',
      '+RECEIVE,1234,5:',
      '+RECEIVE,0,12345678:',
      '+IPD',
      '+IPD,',
      '+IPD,x:',
      '+IPD,5,FTP:',
      '+CIPRXGET: 2',
      '+CIPRXGET: 2,a,5',
      '+CIPRXGET: 1,0',
      '+CSQ: 19,0',
      '+',
    ),
    fc.stringMatching(/^[a-z0-9 ,]{0,10}$/),
    eolArb,
    sepArb,
  )
  .filter(([h, tail]) => !/^\d/.test(tail) && !/^\+CIPRXGET: ?2,\d+,\d+/.test(h + tail))
  .map(([h, tail, eol, sep]) => {
    const text = h + tail;
    return { bytes: Buffer.from(sep + text + eol, 'latin1'), tokens: [{ type: 'line', line: text }] };
  });

const echo: fc.Arbitrary<Item> = fc
  .tuple(fc.constantFrom('AT', 'at', 'At'), fc.stringMatching(/^[+A-Z0-9=,"?.]{0,30}$/), eolArb, sepArb)
  .map(([at, rest, eol, sep]) => ({
    bytes: Buffer.from(sep + at + rest + eol),
    tokens: [{ type: 'echo', line: at + rest }],
  }));

const prompt: fc.Arbitrary<Item> = fc
  .tuple(fc.constantFrom('> ', '>\r\n', '>\n'), sepArb)
  .map(([p, sep]) => ({ bytes: Buffer.from(sep + p), tokens: [{ type: 'prompt' }] }));

const data = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1000, maxLength: MAX_BLOCK }),
  // Payloads that look like module output: they must not be taken for it.
  fc
    .constantFrom('\r\nOK\r\n', '> ', '+RECEIVE,0,5:\r\n', '\r\n+CME ERROR: 3\r\n', 'AT\r', '\0', '\n', '\r', '+IPD,3:')
    .map((s) => new Uint8Array(Buffer.from(s))),
);

const receiveBlock: fc.Arbitrary<Item> = fc
  .tuple(fc.integer({ min: 0, max: 12 }), data, fc.boolean(), sepArb)
  .map(([link, d, trailing, sep]) => {
    const line = `+RECEIVE,${link},${d.length}:`;
    return {
      bytes: Buffer.concat([Buffer.from(`${sep + line}\r\n`), d, Buffer.from(trailing ? '\r\n' : '')]),
      tokens: [{ type: 'block', kind: 'receive', line, link, hex: Buffer.from(d).toString('hex') }],
    };
  });

const ipdBlock: fc.Arbitrary<Item> = fc
  .tuple(data, fc.constantFrom('', ',TCP', ',UDP'), sepArb)
  .map(([d, proto, sep]) => {
    const line = `+IPD,${d.length}${proto}:`;
    return {
      bytes: Buffer.concat([Buffer.from(sep + line), d]),
      tokens: [{ type: 'block', kind: 'ipd', line, hex: Buffer.from(d).toString('hex') }],
    };
  });

const ciprxgetBlock: fc.Arbitrary<Item> = fc
  .tuple(fc.integer({ min: 0, max: 5 }), data, fc.boolean(), fc.nat(9999), sepArb)
  .map(([link, d, multi, left, sep]) => {
    const line = multi ? `+CIPRXGET: 2,${link},${d.length},${left}` : `+CIPRXGET: 2,${d.length},${left}`;
    const tok: Flat = { type: 'block', kind: 'ciprxget', line, hex: Buffer.from(d).toString('hex') };
    if (multi) tok.link = link;
    return { bytes: Buffer.concat([Buffer.from(`${sep + line}\r\n`), d, Buffer.from('\r\n')]), tokens: [tok] };
  });

/** An announcement over maxBlockLength: refused (garbage), and what follows is scanned as lines. */
const hugeAnnouncement: fc.Arbitrary<Item> = fc
  .tuple(fc.integer({ min: MAX_BLOCK + 1, max: 9_999_999 }), fc.constantFrom('receive', 'ipd', 'ciprxget'), sepArb)
  .map(([len, kind, sep]) => {
    const line =
      kind === 'receive' ? `+RECEIVE,0,${len}:` : kind === 'ipd' ? `+IPD,${len}:` : `+CIPRXGET: 2,0,${len},0`;
    return {
      bytes: Buffer.from(`${sep}${line}\r\nafter\r\n`),
      tokens: [
        { type: 'garbage', reason: 'block-too-large', preview: line },
        { type: 'line', line: 'after' },
      ],
    };
  });

const overlongLine: fc.Arbitrary<Item> = fc
  .tuple(fc.integer({ min: MAX_LINE + 1, max: 5000 }), fc.constantFrom(0x78, 0xc3, 0x20), eolArb, sepArb)
  .map(([n, fill, eol, sep]) => {
    const text = Buffer.alloc(n, fill);
    text[0] = 0x5a; // 'Z': not a header, prompt or echo
    return {
      bytes: Buffer.concat([Buffer.from(sep), text, Buffer.from(eol)]),
      tokens: [{ type: 'garbage', reason: 'line-too-long', preview: text.toString('utf8', 0, 48) }],
    };
  });

const itemArb: fc.Arbitrary<Item> = fc.oneof(
  { weight: 4, arbitrary: plainLine },
  { weight: 2, arbitrary: nearHeader },
  { weight: 2, arbitrary: echo },
  { weight: 2, arbitrary: prompt },
  { weight: 3, arbitrary: receiveBlock },
  { weight: 2, arbitrary: ipdBlock },
  { weight: 2, arbitrary: ciprxgetBlock },
  { weight: 1, arbitrary: hugeAnnouncement },
  { weight: 1, arbitrary: overlongLine },
);

describe('AtScanner fuzz', () => {
  it('model: random token streams in random chunks give exactly the expected tokens, blocks byte-exact [seed 78001]', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 12 }), chunkingArb, (items, c: Chunking) => {
        const input = Buffer.concat([...items.map((i) => i.bytes), Buffer.from('\r\n')]);
        expect(scan(chunk(input, c))).toEqual(items.flatMap((i) => i.tokens));
      }),
      params(78001, 250),
    );
  });

  // Fragments of everything the scanner reacts to, glued at random: no expected tokens can be
  // written down, but whatever comes out must not depend on where the chunks were cut.
  const soupPiece = fc.oneof(
    fc
      .constantFrom(
        '+RECEIVE,',
        '0,',
        '5,',
        '3:',
        '1460:',
        '99999:',
        '+IPD,',
        '4:',
        '+CIPRXGET: 2,',
        '0,3,0',
        '2,7',
        '+CIPRXGET: 2,0,1460,0',
        '\r\n',
        '\r',
        '\n',
        '\0',
        '> ',
        '>',
        'AT',
        'at+csq',
        'OK',
        'ERROR',
        ':',
        ',',
        '+',
        '"x"',
        '\u00ff',
        '\u00c3',
      )
      .map((s) => Buffer.from(s, 'latin1')),
    fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  );

  it('chunk invariance: arbitrary byte soup scans the same in every chunking, within bounds [seed 78002]', () => {
    fc.assert(
      fc.property(
        fc.array(soupPiece, { maxLength: 120 }),
        chunkingArb,
        fc.integer({ min: 1, max: 64 }),
        (pieces, c, maxLine) => {
          const input = Buffer.concat(pieces);
          const opts = { maxLineLength: maxLine, maxBlockLength: 64 };
          const ref = scan([input], opts);
          expect(scan(chunk(input, c), opts)).toEqual(ref);
        },
      ),
      params(78002, 400),
    );
  });

  it('adversarial: megabytes without a line end, huge announcements, endless +RECEIVE headers stay bounded [seed 78003]', () => {
    // Described, not built, so that a counterexample prints as a few words instead of megabytes.
    type Flood = { fill: string; bytes: number };
    const flood: fc.Arbitrary<Flood> = fc.oneof(
      // No line end at all.
      fc.record({
        fill: fc.constantFrom('x', '+', '+RECEIVE,', 'AT', '>', '\u00c3'),
        bytes: fc.integer({ min: 200_000, max: 1_500_000 }),
      }),
      // Headers announcing far more than maxBlockLength, back to back.
      fc.record({
        fill: fc.constantFrom('+RECEIVE,0,9999999:', '+IPD,9999999:', '+CIPRXGET: 2,0,9999999,0\r\n'),
        bytes: fc.constant(800_000),
      }),
      // Every block's data is the start of the next header: an endless chain of blocks.
      fc.record({
        fill: fc.integer({ min: 1, max: MAX_BLOCK }).map((n) => `+RECEIVE,0,${n}:\r\n`),
        bytes: fc.constant(600_000),
      }),
    );
    fc.assert(
      fc.property(
        flood,
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 65_536 })),
        fc.integer({ min: 1, max: 1 << 30 }),
        (f, maxChunk, seed) => {
          // Tiny chunks on megabytes would only measure the test loop: cap the number of pushes.
          const input = Buffer.alloc(Math.min(f.bytes, Math.max(4096, maxChunk * 20_000)), f.fill, 'latin1');
          let x = seed;
          const chunks: Buffer[] = [];
          for (let i = 0; i < input.length; ) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            const n = 1 + (x % maxChunk);
            chunks.push(input.subarray(i, i + n));
            i += n;
          }
          let tokens = 0;
          let blockBytes = 0;
          let longestPreview = 0;
          const { largest } = largestAllocation(() => {
            const s = new AtScanner(
              (t) => {
                tokens++;
                if (t.type === 'block') blockBytes += t.data.length;
                if (t.type === 'garbage' && t.preview.length > longestPreview) longestPreview = t.preview.length;
              },
              { maxLineLength: MAX_LINE, maxBlockLength: MAX_BLOCK },
            );
            let maxPending = 0;
            for (const c of chunks) {
              s.push(c);
              if (s.pendingBytes > maxPending) maxPending = s.pendingBytes;
            }
            expect(maxPending).toBeLessThanOrEqual(PENDING_BOUND);
          });
          // The only allocations are one block (≤ maxBlockLength) and pending + one chunk.
          expect(largest).toBeLessThanOrEqual(Math.max(MAX_BLOCK, PENDING_BOUND + maxChunk));
          expect(blockBytes).toBeLessThanOrEqual(input.length);
          expect(longestPreview).toBeLessThanOrEqual(64);
          // Something was reported: nothing is swallowed silently (over-long input is garbage).
          expect(tokens).toBeGreaterThan(0);
        },
      ),
      params(78003, 24),
    );
  });
});
