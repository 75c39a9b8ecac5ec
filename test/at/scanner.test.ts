import { describe, expect, it } from 'vitest';
import { AtScanner, type AtToken } from '../../src/at/index.js';
import { b, byteByByte, CHUNKINGS, randomChunks, whole, type Chunker } from './fake.js';

/** Tokens with data rendered as hex so they compare with toEqual. */
type Flat = {
  type: string;
  line?: string;
  kind?: string;
  link?: number;
  hex?: string;
  reason?: string;
  preview?: string;
};

function scan(input: Buffer, chunker: Chunker, options?: ConstructorParameters<typeof AtScanner>[1]): Flat[] {
  const out: Flat[] = [];
  const s = new AtScanner((t: AtToken) => {
    if (t.type === 'block') {
      const { data, ...rest } = t;
      out.push({ ...rest, hex: data.toString('hex') });
    } else out.push({ ...t });
  }, options);
  for (const c of chunker(input)) s.push(c);
  return out;
}

/** Scan under every chunking, including every single split point; all must agree. */
function scanAllWays(input: Buffer, options?: ConstructorParameters<typeof AtScanner>[1]): Flat[] {
  const ref = scan(input, whole, options);
  for (const [name, mk] of CHUNKINGS) expect(scan(input, mk(), options), name).toEqual(ref);
  if (input.length <= 400) {
    for (let i = 1; i < input.length; i++) {
      const split: Chunker = (x) => [x.subarray(0, i), x.subarray(i)];
      expect(scan(input, split, options), `split at ${i}`).toEqual(ref);
    }
  }
  return ref;
}

const line = (l: string): Flat => ({ type: 'line', line: l });
const hex = (s: string | Buffer) => b(s).toString('hex');

describe('AtScanner', () => {
  it('frames lines on CRLF, bare CR, bare LF and skips blank lines', () => {
    expect(scanAllWays(b('\r\nOK\r\n\r\n+CSQ: 19,0\r\n\r\n\nA\rB\n\n\r\rC\r\n'))).toEqual([
      line('OK'),
      line('+CSQ: 19,0'),
      line('A'),
      line('B'),
      line('C'),
    ]);
  });

  it('yields the prompt, which has no line end', () => {
    expect(scanAllWays(b('\r\n> \r\nDATA ACCEPT:0,5\r\n'))).toEqual([{ type: 'prompt' }, line('DATA ACCEPT:0,5')]);
    // A bare '>' line (single-link manual rendering) is a prompt too; so is a prompt at stream end.
    expect(scanAllWays(b('>\r\nOK\r\n> '))).toEqual([{ type: 'prompt' }, line('OK'), { type: 'prompt' }]);
  });

  it('recognises echoed commands', () => {
    expect(scanAllWays(b('ATE0\r\r\nOK\r\nat+csq\r\n\r\n+CSQ: 1,0\r\n\r\nOK\r\n'))).toEqual([
      { type: 'echo', line: 'ATE0' },
      line('OK'),
      { type: 'echo', line: 'at+csq' },
      line('+CSQ: 1,0'),
      line('OK'),
    ]);
  });

  it('delivers a +RECEIVE block whose payload holds OK, a prompt, a header, NUL and invalid UTF-8', () => {
    const payload = Buffer.concat([b('\r\nOK\r\n> +RECEIVE,0,5:\r\n'), Buffer.from([0, 0xff, 0xfe, 0xc3, 0x28])]);
    const input = Buffer.concat([b(`\r\n+RECEIVE,0,${payload.length}:\r\n`), payload, b('\r\nOK\r\n')]);
    expect(scanAllWays(input)).toEqual([
      { type: 'block', kind: 'receive', line: `+RECEIVE,0,${payload.length}:`, link: 0, hex: payload.toString('hex') },
      line('OK'),
    ]);
  });

  it('handles CIPRXF=0 (trailing CRLF after data) and CIPRXF=1 (none) identically', () => {
    const rxf0 = b('\r\n+RECEIVE,1,4:\r\n\r\n\r\n\r\n+RECEIVE,2,3:\r\nabc\r\n\r\n0, CLOSED\r\n');
    const rxf1 = b('\r\n+RECEIVE,1,4:\r\n\r\n\r\n\r\n+RECEIVE,2,3:\r\nabc\r\n0, CLOSED\r\n');
    const expected = [
      { type: 'block', kind: 'receive', line: '+RECEIVE,1,4:', link: 1, hex: hex('\r\n\r\n') },
      { type: 'block', kind: 'receive', line: '+RECEIVE,2,3:', link: 2, hex: hex('abc') },
      line('0, CLOSED'),
    ];
    expect(scanAllWays(rxf0)).toEqual(expected);
    expect(scanAllWays(rxf1)).toEqual(expected);
    // CIPRXF=1 with the next header right after the data (no line end in between).
    expect(scanAllWays(b('+RECEIVE,0,2:\r\nhi+RECEIVE,0,2:\nyo\r\nOK\r\n'))).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,2:', link: 0, hex: hex('hi') },
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,2:', link: 0, hex: hex('yo') },
      line('OK'),
    ]);
  });

  it('accepts a bare LF after the +RECEIVE header, and data whose first byte is LF', () => {
    expect(scanAllWays(b('+RECEIVE,3,3:\n\nab\r\n'))).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,3,3:', link: 3, hex: hex('\nab') },
    ]);
  });

  it('reads +CIPRXGET: 2 blocks (multi and single link, with address) and leaves hex reads as lines', () => {
    const input = b(
      '\r\n+CIPRXGET: 2,3,5,0\r\nA\r\nOK\r\n\r\nOK\r\n' +
        '\r\n+CIPRXGET: 2,4,2\r\n\r\n\r\n\r\nOK\r\n' +
        '\r\n+CIPRXGET: 2,0,3,0,"1.2.3.4:53"\r\nxyz\r\n\r\nOK\r\n' +
        '\r\n+CIPRXGET: 2,0,0,0\r\n\r\nOK\r\n' +
        '\r\n+CIPRXGET: 3,0,4,0\r\n41424344\r\n\r\nOK\r\n',
    );
    expect(scanAllWays(input)).toEqual([
      { type: 'block', kind: 'ciprxget', line: '+CIPRXGET: 2,3,5,0', link: 3, hex: hex('A\r\nOK') },
      line('OK'),
      { type: 'block', kind: 'ciprxget', line: '+CIPRXGET: 2,4,2', hex: hex('\r\n\r\n') },
      line('OK'),
      { type: 'block', kind: 'ciprxget', line: '+CIPRXGET: 2,0,3,0,"1.2.3.4:53"', link: 0, hex: hex('xyz') },
      line('OK'),
      { type: 'block', kind: 'ciprxget', line: '+CIPRXGET: 2,0,0,0', link: 0, hex: '' },
      line('OK'),
      line('+CIPRXGET: 3,0,4,0'),
      line('41424344'),
      line('OK'),
    ]);
  });

  it('reads +IPD blocks with data right after the colon', () => {
    expect(scanAllWays(b('\r\nCONNECT OK\r\n+IPD,4:TEST+IPD,6,TCP:\r\nOK\r\n\r\nCLOSED\r\n'))).toEqual([
      line('CONNECT OK'),
      { type: 'block', kind: 'ipd', line: '+IPD,4:', hex: hex('TEST') },
      { type: 'block', kind: 'ipd', line: '+IPD,6,TCP:', hex: hex('\r\nOK\r\n') },
      line('CLOSED'),
    ]);
  });

  it('takes two blocks and a final result from one chunk', () => {
    const input = b('\r\n+RECEIVE,0,3:\r\nabc\r\n+RECEIVE,1,2:\r\n> \r\n\r\nOK\r\n');
    const tokens = scan(input, whole);
    expect(tokens).toEqual([
      { type: 'block', kind: 'receive', line: '+RECEIVE,0,3:', link: 0, hex: hex('abc') },
      { type: 'block', kind: 'receive', line: '+RECEIVE,1,2:', link: 1, hex: hex('> ') },
      line('OK'),
    ]);
    expect(scanAllWays(input)).toEqual(tokens);
  });

  it('resyncs after bootloader noise, invalid UTF-8 and a lone NUL', () => {
    const input = Buffer.concat([
      b("^boot.rom'v'!\r\n"),
      Buffer.from([0xff, 0xfe, 0x80, 0x0d, 0x0a]),
      Buffer.from([0x00]),
      b('\r\nRDY\r\n'),
      Buffer.from([0x00]),
      b('\r\nOK\r\nManufactManufact\r\n+E_UTRAN Service\r\n'),
    ]);
    expect(scanAllWays(input)).toEqual([
      line("^boot.rom'v'!"),
      line('\ufffd\ufffd\ufffd'),
      line('RDY'),
      line('OK'),
      line('ManufactManufact'),
      line('+E_UTRAN Service'),
    ]);
  });

  it('treats a malformed header as a plain line', () => {
    expect(scanAllWays(b('+RECEIVE,x,5:\r\n+IPD,:\r\n+RECEIVE,0,5\r\nOK\r\n'))).toEqual([
      line('+RECEIVE,x,5:'),
      line('+IPD,:'),
      line('+RECEIVE,0,5'),
      line('OK'),
    ]);
  });

  it('drops an over-long line with a garbage report and resyncs at the next line', () => {
    // A short limit: the preview must not depend on how much was buffered when the limit hit.
    expect(scanAllWays(b(`${'y'.repeat(20)}\r\nOK\r\n`), { maxLineLength: 8 })).toEqual([
      { type: 'garbage', reason: 'line-too-long', preview: 'y'.repeat(8) },
      line('OK'),
    ]);
    const long = 'x'.repeat(100);
    const input = b(`${long}\r\nOK\r\n${long}${long}`);
    const opts = { maxLineLength: 64 };
    const tokens = scanAllWays(input, opts);
    expect(tokens).toEqual([
      { type: 'garbage', reason: 'line-too-long', preview: 'x'.repeat(48) },
      line('OK'),
      { type: 'garbage', reason: 'line-too-long', preview: 'x'.repeat(48) },
    ]);
    // Memory stays bounded while discarding a never-ending line.
    const s = new AtScanner(() => {}, opts);
    for (let i = 0; i < 1000; i++) s.push(b(long));
    expect(s.pendingBytes).toBeLessThanOrEqual(64 + 100);
  });

  it('refuses to allocate blocks announcing more than the maximum', () => {
    const tokens = scanAllWays(b('+RECEIVE,0,999999:\r\nabc\r\n+CIPRXGET: 2,0,1461,0\r\nOK\r\n+IPD,5000:x\r\nOK\r\n'));
    expect(tokens).toEqual([
      { type: 'garbage', reason: 'block-too-large', preview: '+RECEIVE,0,999999:' },
      line('abc'),
      { type: 'garbage', reason: 'block-too-large', preview: '+CIPRXGET: 2,0,1461,0' },
      line('OK'),
      { type: 'garbage', reason: 'block-too-large', preview: '+IPD,5000:' },
      line('x'),
      line('OK'),
    ]);
  });

  it('splits a 1460-byte block over many chunks byte-exactly', () => {
    const payload = Buffer.alloc(1460);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 37 + 11) & 0xff;
    const input = Buffer.concat([b('\r\n+RECEIVE,5,1460:\r\n'), payload, b('\r\n\r\n5, CLOSED\r\n')]);
    const expected = [
      { type: 'block', kind: 'receive', line: '+RECEIVE,5,1460:', link: 5, hex: payload.toString('hex') },
      line('5, CLOSED'),
    ];
    expect(scanAllWays(input)).toEqual(expected);
    for (let seed = 10; seed < 30; seed++) expect(scan(input, randomChunks(seed, 7))).toEqual(expected);
    expect(scan(input, byteByByte)).toEqual(expected);
  });
});
