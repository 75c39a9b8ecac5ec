import { afterEach, describe, expect, it } from 'vitest';
import { AtChannel, BLOCK, BLOCK_SHAPES, URC, isKnownUrc, parseShape, type AtUrc } from '../../src/at/index.js';
import { AtScanner, type AtToken } from '../../src/at/scanner.js';
import { CHUNKINGS, FakeModule } from './fake.js';

const channels: AtChannel[] = [];
afterEach(() => {
  for (const ch of channels.splice(0)) ch.close();
});

describe('the dialect table', () => {
  it('parses each unsolicited line into its fields', () => {
    expect(parseShape(URC.linkEvent, '3, CLOSED')).toEqual({ id: '3', event: 'CLOSED' });
    expect(parseShape(URC.linkEvent, '12,CONNECT OK')).toEqual({ id: '12', event: 'CONNECT OK' });
    expect(parseShape(URC.dataAccept, 'DATA ACCEPT:0,1460')).toEqual({ id: '0', count: 1460 });
    expect(parseShape(URC.dataAccept, 'DATA ACCEPT:12')).toEqual({ count: 12 });
    expect(parseShape(URC.dataWaiting, '+CIPRXGET: 1,4')).toEqual({ id: '4' });
    expect(parseShape(URC.dnsAnswer, '+CDNSGIP: 1,"a.example","10.0.0.1","10.0.0.2"')).toEqual({
      host: 'a.example',
      ips: ['10.0.0.1', '10.0.0.2'],
    });
    expect(parseShape(URC.dnsAnswer, '+CDNSGIP: 0,8')).toEqual({ error: 8 });
    // The shape, not the form: known as a URC, but no fields.
    expect(isKnownUrc('+CDNSGIP: ???')).toBe(true);
    expect(parseShape(URC.dnsAnswer, '+CDNSGIP: ???')).toBeUndefined();
    expect(parseShape(BLOCK.receive, '+RECEIVE,2,7:')).toEqual({ id: '2', len: 7 });
    expect(parseShape(BLOCK.pullRead, '+CIPRXGET: 2,0,5,9')).toEqual({ id: '0', len: 5, left: 9 });
    expect(parseShape(BLOCK.pullRead, '+CIPRXGET: 2,5,9')).toEqual({ len: 5, left: 9 });
  });

  it('every URC example is known, and no information line is', () => {
    const urcs = [
      'RDY',
      '^MODE: 17,17',
      '+E_UTRAN Service',
      '+CGEV: ME PDN ACT 1',
      '+NITZ: 24/01/01,00:00:00+32,0',
      '+PDP: DEACT',
      '5, CLOSED',
      '0,CONNECT FAIL',
      'DATA ACCEPT:1,10',
      '+CIPRXGET: 1,0',
      '+CDNSGIP: 0,8',
      '+HTTPACTION: 0,200,5',
      '+CMTI: "SM",1',
      'SMS Ready',
      'Call Ready',
      'CLOSED',
      'TCP ERROR: 3',
    ];
    for (const l of urcs) expect(isKnownUrc(l), l).toBe(true);
    for (const l of [
      '+CSQ: 20,0',
      'OK',
      '+CIPRXGET: 4,0,12',
      '+CIPRXGET: 2,0,5,0',
      '0, CONNECT OKAY',
      'STATE: IP STATUS',
    ])
      expect(isKnownUrc(l), l).toBe(false);
  });

  it('the scanner frames exactly the table’s block headers', () => {
    const tokens: AtToken[] = [];
    const sc = new AtScanner((t) => tokens.push(t), { blockSilenceMs: 0 });
    for (const s of BLOCK_SHAPES) expect(s.marks.length).toBeGreaterThan(0);
    sc.push(Buffer.from('+RECEIVE,1,2:ab+IPD,3:cde+CIPRXGET: 2,4,1,0\r\nf\r\nOK\r\n', 'latin1'));
    expect(
      tokens.map((t) =>
        t.type === 'block' ? `${t.kind}:${t.link ?? '-'}:${t.data}` : t.type === 'line' ? t.line : t.type,
      ),
    ).toEqual(['receive:1:ab', 'ipd:-:cde', 'ciprxget:4:f', 'OK']);
  });
});

describe('AtChannel.onShape: handlers receive the parsed fields', () => {
  for (const [name, mk] of CHUNKINGS) {
    it(`link events, blocks and unparsed lines of a shape (${name})`, async () => {
      const fake = new FakeModule(mk());
      const ch = new AtChannel(fake.stream, { defaultTimeoutMs: 3000 });
      channels.push(ch);
      const got: unknown[] = [];
      const unknown: string[] = [];
      ch.on('unknown', (l: string) => unknown.push(l));
      ch.onShape(URC.linkEvent, (f) => got.push(f));
      ch.onShape(BLOCK.receive, (f, u: AtUrc) => got.push({ ...f, data: u.data?.toString('latin1') }));
      ch.onShape(URC.dnsAnswer, (f) => got.push(f));
      fake.on('AT+CSQ\r', '\r\n+CSQ: 20,0\r\n2, CLOSED\r\n+RECEIVE,1,3:xyz\r\n+CDNSGIP: garbled\r\n\r\nOK\r\n');
      const r = await ch.send('AT+CSQ');
      expect(r.lines).toEqual(['+CSQ: 20,0']);
      expect(got).toEqual([
        { id: '2', event: 'CLOSED' },
        { id: '1', len: 3, data: 'xyz' },
      ]);
      // A line of a known shape whose fields do not parse is nobody's: reported, not an info line.
      expect(unknown).toEqual(['+CDNSGIP: garbled']);
    });
  }
});
