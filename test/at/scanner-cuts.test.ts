/**
 * Cut and misaligned blocks (issue 15): a block that goes silent part-way, or whose bytes do not
 * end where announced, is reported as a `cut` token with none of its data, and scanning resumes
 * as lines so that `RDY` and the next header are seen.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AtScanner, blockSilenceBound, type AtToken } from '../../src/at/index.js';
import { b, CHUNKINGS, whole, type Chunker } from './fake.js';

type Flat = {
  type: string;
  line?: string;
  kind?: string;
  link?: number;
  hex?: string;
  reason?: string;
  received?: number;
};

function collector(options?: ConstructorParameters<typeof AtScanner>[1]): { s: AtScanner; out: Flat[] } {
  const out: Flat[] = [];
  const s = new AtScanner((t: AtToken) => {
    if (t.type === 'block') {
      const { data, ...rest } = t;
      out.push({ ...rest, hex: data.toString('hex') });
    } else out.push({ ...t });
  }, options);
  return { s, out };
}

function scan(input: Buffer, chunker: Chunker, options?: ConstructorParameters<typeof AtScanner>[1]): Flat[] {
  const { s, out } = collector(options);
  for (const c of chunker(input)) s.push(c);
  s.reset();
  return out;
}

/** Every chunking agrees (misalignment does not depend on timing). */
function scanAllWays(input: Buffer, options?: ConstructorParameters<typeof AtScanner>[1]): Flat[] {
  const ref = scan(input, whole, options);
  for (const [name, mk] of CHUNKINGS) expect(scan(input, mk(), options), name).toEqual(ref);
  for (let i = 1; i < input.length; i++) {
    const split: Chunker = (x) => [x.subarray(0, i), x.subarray(i)];
    expect(scan(input, split, options), `split at ${i}`).toEqual(ref);
  }
  return ref;
}

const hex = (s: string | Buffer) => b(s).toString('hex');
const line = (l: string): Flat => ({ type: 'line', line: l });

afterEach(() => {
  vi.useRealTimers();
});

describe('silence bound', () => {
  it('is 400 byte-times, never under 300 ms', () => {
    expect(blockSilenceBound(115200)).toBe(300);
    expect(blockSilenceBound(921600)).toBe(300);
    expect(blockSilenceBound(9600)).toBe(417);
    expect(blockSilenceBound(1200)).toBe(3334);
  });
});

describe('a block that goes silent part-way', () => {
  for (const [what, header] of [
    ['push', '\r\n+RECEIVE,2,100:\r\n'],
    ['pull', '\r\n+CIPRXGET: 2,2,100,0\r\n'],
    ['ipd', '\r\n+IPD,100:'],
  ] as const) {
    it(`${what}: is cut after the bound, delivers nothing, and RDY after it is a line`, () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
      const { s, out } = collector({ blockSilenceMs: 300 });
      s.push(b(header + 'x'.repeat(60)));
      vi.advanceTimersByTime(250);
      expect(out).toEqual([]);
      expect(s.inBlock).toBe(true);
      vi.advanceTimersByTime(100);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatchObject({ type: 'cut', reason: 'silence', received: 60 });
      expect(s.inBlock).toBe(false);
      s.push(b('\r\nRDY\r\n\r\n^MODE: 17,17\r\n'));
      expect(out.slice(1)).toEqual([line('RDY'), line('^MODE: 17,17')]);
    });
  }

  it('a pull header cut before its line end is dropped, so the CRLF before RDY does not start a block', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    const { s, out } = collector({ blockSilenceMs: 300 });
    s.push(b('\r\n+CIPRXGET: 2,1,5,0'));
    vi.advanceTimersByTime(400);
    s.push(b('\r\nRDY\r\n\r\nOK\r\n'));
    expect(out).toEqual([
      { type: 'garbage', reason: 'header-cut', preview: '+CIPRXGET: 2,1,5,0' },
      line('RDY'),
      line('OK'),
    ]);
  });

  it('is not cut while bytes keep coming, however slowly within the bound', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    const { s, out } = collector({ baudRate: 9600 });
    s.push(b('\r\n+RECEIVE,0,50:\r\n'));
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(400); // just under the 417 ms bound of 9600 baud
      s.push(b('y'));
    }
    s.push(b('\r\nOK\r\n'));
    expect(out).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,50:', link: 0, hex: hex('y'.repeat(50)) },
      line('OK'),
    ]);
  });

  it('stops watching once the block is complete (no cut between tokens)', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    const { s, out } = collector({ blockSilenceMs: 300 });
    s.push(b('\r\n+RECEIVE,0,3:\r\nabc'));
    vi.advanceTimersByTime(10_000);
    expect(out).toEqual([{ type: 'block', kind: 'receive', line: '+RECEIVE,0,3:', link: 0, hex: hex('abc') }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('0 turns the rule off', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    const { s, out } = collector({ blockSilenceMs: 0 });
    s.push(b('\r\n+RECEIVE,0,3:\r\na'));
    vi.advanceTimersByTime(10_000);
    s.push(b('bc'));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'block' });
  });

  it('a host that was not scheduled does not cut: bytes that waited in the kernel arrive after the late tick', async () => {
    const { s, out } = collector({ blockSilenceMs: 300 });
    s.push(b('\r\n+RECEIVE,0,6:\r\nabc'));
    // The process is busy for 3× the bound; meanwhile the rest of the block waits in the kernel.
    const until = performance.now() + 900;
    while (performance.now() < until) {
      /* busy */
    }
    // The overdue tick runs before the waiting bytes are read (a timer due later in the same list).
    await new Promise<void>((r) =>
      setTimeout(() => {
        s.push(b('def\r\nOK\r\n'));
        r();
      }, 1),
    );
    expect(out).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,6:', link: 0, hex: hex('abcdef') },
      line('OK'),
    ]);
  });
});

describe('a block not followed by its CRLF (trailer checked)', () => {
  const trailer = { receiveTrailer: true, blockSilenceMs: 0 };

  it('push, 3 bytes dropped: cut as misaligned, the next header on another link is delivered intact', () => {
    // "0123456789" lost "456": the block takes "\r\n\r" of what follows.
    const input = b('\r\n+RECEIVE,0,10:\r\n0123789\r\n\r\n+RECEIVE,1,4:\r\nWXYZ\r\n\r\nOK\r\n');
    expect(scanAllWays(input, trailer)).toEqual([
      { type: 'cut', kind: 'receive', line: '+RECEIVE,0,10:', link: 0, reason: 'misaligned', received: 10 },
      { type: 'block', kind: 'receive', line: '+RECEIVE,1,4:', link: 1, hex: hex('WXYZ') },
      line('OK'),
    ]);
  });

  it('push, 5 bytes inserted: cut as misaligned; the block tail is skipped, not read as a line', () => {
    const input = b('\r\n+RECEIVE,0,10:\r\n01234#####56789\r\n\r\n+RECEIVE,1,4:\r\nWXYZ\r\n');
    expect(scanAllWays(input, trailer)).toEqual([
      { type: 'cut', kind: 'receive', line: '+RECEIVE,0,10:', link: 0, reason: 'misaligned', received: 10 },
      { type: 'block', kind: 'receive', line: '+RECEIVE,1,4:', link: 1, hex: hex('WXYZ') },
    ]);
  });

  it('pull (always checked), dropped and inserted bytes: cut, then the OK is a line', () => {
    const dropped = b('\r\n+CIPRXGET: 2,3,10,0\r\n0123789\r\n\r\nOK\r\n');
    expect(scanAllWays(dropped, { blockSilenceMs: 0 })).toEqual([
      { type: 'cut', kind: 'ciprxget', line: '+CIPRXGET: 2,3,10,0', link: 3, reason: 'misaligned', received: 10 },
      line('OK'),
    ]);
    const inserted = b('\r\n+CIPRXGET: 2,3,10,0\r\n01234#####56789\r\n\r\nOK\r\n');
    expect(scanAllWays(inserted, { blockSilenceMs: 0 })).toEqual([
      { type: 'cut', kind: 'ciprxget', line: '+CIPRXGET: 2,3,10,0', link: 3, reason: 'misaligned', received: 10 },
      line('OK'),
    ]);
  });

  it('a good block with its trailer is delivered; with the trailer off nothing is checked', () => {
    const good = b('\r\n+RECEIVE,0,4:\r\nab\r\n\r\n\r\nOK\r\n');
    expect(scanAllWays(good, trailer)).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,4:', link: 0, hex: hex('ab\r\n') },
      line('OK'),
    ]);
    const noTrailer = b('\r\n+RECEIVE,0,4:\r\nabcd+RECEIVE,1,1:\r\nz');
    expect(scanAllWays(noTrailer, { blockSilenceMs: 0 })).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,4:', link: 0, hex: hex('abcd') },
      { type: 'block', kind: 'receive', line: '+RECEIVE,1,1:', link: 1, hex: hex('z') },
    ]);
  });

  it('setReceiveTrailer switches the check at runtime', () => {
    const { s, out } = collector({ blockSilenceMs: 0 });
    s.push(b('\r\n+RECEIVE,0,2:\r\nabX'));
    s.setReceiveTrailer(true);
    s.push(b('\r\n+RECEIVE,0,2:\r\nabX\r\n'));
    expect(out.map((t) => t.type)).toEqual(['block', 'line', 'cut']);
  });
});
