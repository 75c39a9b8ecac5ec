/**
 * Every transcript of air780e-at.md §7, played by a scripted module, under every chunking: the
 * channel must give the same results each time, and the ones the transcript says.
 */
import { describe, expect, it } from 'vitest';
import { AtChannel, isKnownUrc, type AtSendOptions, type FinalMatcher } from '../../src/at/index.js';
import { b, CHUNKINGS, FakeModule, type Chunker } from './fake.js';

interface Step {
  /** Module bytes arriving before the command is sent. */
  unsolicited?: string;
  /** Raw bytes written with writeRaw instead of a command; `reply` follows them. */
  raw?: string;
  command?: string;
  payload?: Buffer;
  final?: FinalMatcher;
  /** Answer to the command line (for prompt commands: the prompt part). */
  reply: string;
  /** Prompt commands: answer to the payload bytes. */
  afterPayload?: string;
}

type Outcome =
  | { ok: { lines: string[]; final: string; data?: string } }
  | { error: { code: string; cme?: number; meaning?: string; final?: string } };

interface Record_ {
  outcomes: Outcome[];
  urcs: Array<{ line: string; data?: string }>;
  unknown: string[];
  written: string;
}

async function play(steps: Step[], chunker: Chunker): Promise<Record_> {
  const fake = new FakeModule(chunker);
  const ch = new AtChannel(fake.stream, { defaultTimeoutMs: 2000 });
  const rec: Record_ = { outcomes: [], urcs: [], unknown: [], written: '' };
  ch.onUrc(isKnownUrc, (u) =>
    rec.urcs.push(u.data ? { line: u.line, data: u.data.toString('latin1') } : { line: u.line }),
  );
  ch.onUrc(/^\+(RECEIVE|IPD)/, (u) => rec.urcs.push({ line: u.line, data: u.data!.toString('latin1') }));
  ch.on('unknown', (line: string) => rec.unknown.push(line));
  for (const s of steps) {
    if (s.unsolicited) {
      fake.send(s.unsolicited);
      await fake.idle();
    }
    if (s.raw !== undefined) {
      fake.on(s.raw, s.reply);
      ch.writeRaw(s.raw);
      await fake.idle();
      continue;
    }
    const terminator = s.payload ? '\r\n' : '\r';
    fake.on(Buffer.from(s.command + terminator, 'utf8'), s.reply);
    if (s.payload && s.afterPayload !== undefined) fake.on(s.payload, s.afterPayload);
    const options: AtSendOptions = {};
    if (s.payload) options.payload = s.payload;
    if (s.final) options.final = s.final;
    try {
      const r = await ch.send(s.command!, options);
      const ok: { lines: string[]; final: string; data?: string } = { lines: r.lines, final: r.final };
      if (r.data) ok.data = r.data.toString('latin1');
      rec.outcomes.push({ ok });
    } catch (err) {
      const e = err as { code: string; cme?: number; meaning?: string; final?: string };
      const error: { code: string; cme?: number; meaning?: string; final?: string } = { code: e.code };
      if (e.cme !== undefined) error.cme = e.cme;
      if (e.meaning !== undefined) error.meaning = e.meaning;
      if (e.final !== undefined) error.final = e.final;
      rec.outcomes.push({ error });
    }
  }
  await fake.idle();
  expect(fake.scriptLeft, 'every scripted exchange happened').toBe(0);
  rec.written = fake.written.toString('latin1');
  ch.close();
  return rec;
}

const ok = (lines: string[], final = 'OK', data?: string): Outcome => ({
  ok: data === undefined ? { lines, final } : { lines, final, data },
});

const TRANSCRIPTS: Array<{ name: string; steps: Step[]; expected: Omit<Record_, 'written'>; written: string }> = [
  {
    name: '7.1 probe and identify (echo on at first)',
    steps: [
      { command: 'ATE0', reply: 'ATE0\r\r\nOK\r\n' },
      { command: 'ATI', reply: '\r\nAirM2M_780E_V1171_LTE_AT\r\n\r\nOK\r\n' },
      { command: 'AT+CGSN', reply: '\r\n359759002514931\r\n\r\nOK\r\n' },
      { command: 'AT+ICCID', reply: '\r\n+ICCID: 89860117831003134201\r\n\r\nOK\r\n' },
      { command: 'AT+CPIN?', reply: '\r\n+CPIN: READY\r\n\r\nOK\r\n' },
      { command: 'AT+CSQ', reply: '\r\n+CSQ: 19,0\r\n\r\nOK\r\n' },
      { command: 'AT+CGATT?', reply: '\r\n+CGATT: 1\r\n\r\nOK\r\n' },
    ],
    expected: {
      outcomes: [
        ok([]),
        ok(['AirM2M_780E_V1171_LTE_AT']),
        ok(['359759002514931']),
        ok(['+ICCID: 89860117831003134201']),
        ok(['+CPIN: READY']),
        ok(['+CSQ: 19,0']),
        ok(['+CGATT: 1']),
      ],
      urcs: [],
      unknown: [],
    },
    written: 'ATE0\rATI\rAT+CGSN\rAT+ICCID\rAT+CPIN?\rAT+CSQ\rAT+CGATT?\r',
  },
  {
    name: '7.2 multi-link bring-up, connect, send, push receive, close, peer close',
    steps: [
      { command: 'AT+CIPSHUT', reply: '\r\nSHUT OK\r\n' },
      { command: 'AT+CIPMUX=1', reply: '\r\nOK\r\n' },
      { command: 'AT+CIPRXF=1', reply: '\r\nOK\r\n' },
      { command: 'AT+CIPQSEND=1', reply: '\r\nOK\r\n' },
      { command: 'AT+CSTT', reply: '\r\nOK\r\n' },
      { command: 'AT+CIICR', reply: '\r\nOK\r\n' },
      { command: 'AT+CIFSR', reply: '\r\n10.83.172.111\r\n' },
      { command: 'AT+CIPSTART=0,"TCP","example.com",80', reply: '\r\nOK\r\n\r\n0, CONNECT OK\r\n' },
      {
        command: 'AT+CIPSEND=0,5',
        payload: b('hello'),
        reply: '\r\n> ',
        afterPayload: '\r\nDATA ACCEPT:0,5\r\n\r\n+RECEIVE,0,7:\r\nTEST123',
      },
      { command: 'AT+CIPCLOSE=0', reply: '\r\n0, CLOSE OK\r\n' },
      {
        unsolicited: '\r\n0, CLOSED\r\n',
        command: 'AT+CIPSEND=0,5',
        payload: b('hello'),
        reply: '\r\n+CME ERROR: 3\r\n',
      },
    ],
    expected: {
      outcomes: [
        ok([], 'SHUT OK'),
        ok([]),
        ok([]),
        ok([]),
        ok([]),
        ok([]),
        ok([], '10.83.172.111'),
        ok([]),
        ok([], 'DATA ACCEPT:0,5'),
        ok([], '0, CLOSE OK'),
        { error: { code: 'ERR_CME', cme: 3, meaning: 'operation not allowed', final: '+CME ERROR: 3' } },
      ],
      urcs: [{ line: '0, CONNECT OK' }, { line: '+RECEIVE,0,7:', data: 'TEST123' }, { line: '0, CLOSED' }],
      unknown: [],
    },
    written:
      'AT+CIPSHUT\rAT+CIPMUX=1\rAT+CIPRXF=1\rAT+CIPQSEND=1\rAT+CSTT\rAT+CIICR\rAT+CIFSR\r' +
      'AT+CIPSTART=0,"TCP","example.com",80\rAT+CIPSEND=0,5\r\nhelloAT+CIPCLOSE=0\rAT+CIPSEND=0,5\r\n',
  },
  {
    name: '7.3 single link with header, then a failed connect',
    steps: [
      { command: 'AT+CIPHEAD=1', reply: '\r\nOK\r\n' },
      {
        command: 'AT+CIPSTART="TCP","60.166.18.9",7500',
        reply: '\r\nOK\r\n\r\nCONNECT OK\r\n\r\n+IPD,4:TEST',
      },
      { command: 'AT+CIPSEND', payload: b('1234567890\x1a'), reply: '\r\n> ', afterPayload: '\r\nDATA ACCEPT:10\r\n' },
      { command: 'AT+CIPCLOSE', reply: '\r\nCLOSE OK\r\n' },
      { command: 'AT+CIPSTATUS', reply: '\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n' },
      { command: 'AT+CIPSHUT', reply: '\r\nSHUT OK\r\n' },
      { command: 'AT+CIFSR', reply: '\r\nERROR\r\n' },
      {
        command: 'AT+CIPSTART="TCP",”112.125.89.8“,37076',
        reply: '\r\nOK\r\n\r\nSTATE: IP STATUS\r\n\r\nCONNECT FAIL\r\n',
      },
    ],
    expected: {
      outcomes: [
        ok([]),
        ok([]),
        ok([], 'DATA ACCEPT:10'),
        ok([], 'CLOSE OK'),
        ok(['STATE: TCP CLOSED']),
        ok([], 'SHUT OK'),
        { error: { code: 'ERR_AT_ERROR', final: 'ERROR' } },
        ok([]),
      ],
      urcs: [{ line: 'CONNECT OK' }, { line: '+IPD,4:', data: 'TEST' }, { line: 'CONNECT FAIL' }],
      unknown: ['STATE: IP STATUS'],
    },
    written:
      'AT+CIPHEAD=1\rAT+CIPSTART="TCP","60.166.18.9",7500\rAT+CIPSEND\r\n1234567890\x1aAT+CIPCLOSE\rAT+CIPSTATUS\r' +
      'AT+CIPSHUT\rAT+CIFSR\r' +
      Buffer.from('AT+CIPSTART="TCP",”112.125.89.8“,37076\r', 'utf8').toString('latin1'),
  },
  {
    name: '7.4 pull mode',
    steps: [
      { command: 'AT+CIPRXGET=1', reply: '\r\nOK\r\n' },
      {
        command: 'AT+CIPSTART=3,"TCP","36.9.88.120",6001',
        reply: '\r\nOK\r\n\r\n3, CONNECT OK\r\n\r\n+CIPRXGET: 1,3\r\n',
      },
      { command: 'AT+CIPRXGET=2,3,10', reply: '\r\n+CIPRXGET: 2,3,5,0\r\nAAAAA\r\n\r\nOK\r\n' },
      { command: 'AT+CIPRXGET=3,0,720', reply: '\r\n+CIPRXGET: 3,0,4,0\r\n41424344\r\n\r\nOK\r\n' },
      { command: 'AT+CIPRXGET=3,0,720', reply: '\r\n+CIPRXGET: 3,0,0,0\r\n\r\nOK\r\n' },
      { command: 'AT+CIPRXGET=4,3', reply: '\r\n+CIPRXGET: 4,3,0\r\n\r\nOK\r\n' },
    ],
    expected: {
      outcomes: [
        ok([]),
        ok([]),
        ok(['+CIPRXGET: 2,3,5,0'], 'OK', 'AAAAA'),
        ok(['+CIPRXGET: 3,0,4,0', '41424344']),
        ok(['+CIPRXGET: 3,0,0,0']),
        ok(['+CIPRXGET: 4,3,0']),
      ],
      urcs: [{ line: '3, CONNECT OK' }, { line: '+CIPRXGET: 1,3' }],
      unknown: [],
    },
    written:
      'AT+CIPRXGET=1\rAT+CIPSTART=3,"TCP","36.9.88.120",6001\rAT+CIPRXGET=2,3,10\rAT+CIPRXGET=3,0,720\r' +
      'AT+CIPRXGET=3,0,720\rAT+CIPRXGET=4,3\r',
  },
  {
    name: '7.5 TLS (single link) and certificate upload',
    steps: [
      { command: 'AT+CIPMUX=0', reply: '\r\nOK\r\n' },
      { command: 'AT+CIPQSEND=1', reply: '\r\nOK\r\n' },
      { command: 'AT+SSLCFG="sslversion",0,4', reply: '\r\nOK\r\n' },
      { command: 'AT+CIPSSL=1', reply: '\r\nOK\r\n' },
      { command: 'AT+CIPSSL?', reply: '\r\n+CIPSSL: 1\r\n\r\nOK\r\n' },
      { command: 'AT+CIPSTART="TCP","example.com",443', reply: '\r\nOK\r\n\r\nCONNECT OK\r\n' },
      { command: 'AT+CIPSEND=10', payload: b('1234567890'), reply: '\r\n> ', afterPayload: '\r\nDATA ACCEPT:10\r\n' },
      { command: 'AT+CIPSHUT', reply: '\r\nSHUT OK\r\n' },
      { command: 'AT+CIPSSL=0', reply: '\r\nOK\r\n' },
      { command: 'AT+FSCREATE="ca.crt"', reply: '\r\nOK\r\n' },
      {
        command: 'AT+FSWRITE="ca.crt",0,2080,15',
        payload: Buffer.alloc(2080, '-----BEGIN CERTIFICATE-----\r\nOK\r\n> \n'),
        reply: '\r\n> ',
        afterPayload: '\r\nOK\r\n',
      },
    ],
    expected: {
      outcomes: [
        ok([]),
        ok([]),
        ok([]),
        ok([]),
        ok(['+CIPSSL: 1']),
        ok([]),
        ok([], 'DATA ACCEPT:10'),
        ok([], 'SHUT OK'),
        ok([]),
        ok([]),
        ok([]),
      ],
      urcs: [{ line: 'CONNECT OK' }],
      unknown: [],
    },
    written:
      'AT+CIPMUX=0\rAT+CIPQSEND=1\rAT+SSLCFG="sslversion",0,4\rAT+CIPSSL=1\rAT+CIPSSL?\r' +
      'AT+CIPSTART="TCP","example.com",443\rAT+CIPSEND=10\r\n1234567890AT+CIPSHUT\rAT+CIPSSL=0\r' +
      'AT+FSCREATE="ca.crt"\rAT+FSWRITE="ca.crt",0,2080,15\r\n' +
      Buffer.alloc(2080, '-----BEGIN CERTIFICATE-----\r\nOK\r\n> \n').toString('latin1'),
  },
  {
    name: '7.6 PDP loss and bearer errors',
    steps: [
      { unsolicited: '\r\n+PDP: DEACT\r\n', command: 'AT+CIPSHUT', reply: '\r\nSHUT OK\r\n' },
      { command: 'AT+CSTT', reply: '\r\nOK\r\n' },
      { command: 'AT+CSTT', reply: '\r\n+CME ERROR: 3\r\n' },
      { command: 'AT+CIICR', reply: '\r\n+PDP: DEACT\r\n\r\n+CME ERROR: 65535\r\n' },
    ],
    expected: {
      outcomes: [
        ok([], 'SHUT OK'),
        ok([]),
        { error: { code: 'ERR_CME', cme: 3, meaning: 'operation not allowed', final: '+CME ERROR: 3' } },
        { error: { code: 'ERR_CME', cme: 65535, meaning: 'other error', final: '+CME ERROR: 65535' } },
      ],
      urcs: [{ line: '+PDP: DEACT' }, { line: '+PDP: DEACT' }],
      unknown: [],
    },
    written: 'AT+CIPSHUT\rAT+CSTT\rAT+CSTT\rAT+CIICR\r',
  },
  {
    name: '7.7 transparent mode (command side; the data phase is not AT)',
    steps: [
      { command: 'AT+CIPMODE=1', reply: '\r\nOK\r\n' },
      { command: 'AT+CIPSTART="TCP","60.166.18.9",7500', reply: '\r\nOK\r\n\r\nCONNECT\r\n' },
      { raw: '+++', reply: '\r\nOK\r\n' },
      {
        command: 'ATO',
        final: (l) => (l === 'CONNECT' ? 'final' : l === 'NO CARRIER' || l === 'ERROR' ? 'error' : undefined),
        reply: '\r\nCONNECT\r\n\r\nTCP ERROR:14\r\n',
      },
      { command: 'AT+CIPSHUT', reply: '\r\nSHUT OK\r\n' },
    ],
    expected: {
      outcomes: [ok([]), ok([]), ok([], 'CONNECT'), ok([], 'SHUT OK')],
      urcs: [{ line: 'TCP ERROR:14' }],
      unknown: ['CONNECT', 'OK'],
    },
    written: 'AT+CIPMODE=1\rAT+CIPSTART="TCP","60.166.18.9",7500\r+++ATO\rAT+CIPSHUT\r',
  },
];

describe('air780e-at.md §7 transcripts through AtChannel', () => {
  for (const t of TRANSCRIPTS) {
    describe(t.name, () => {
      for (const [name, mk] of CHUNKINGS) {
        it(name, async () => {
          const rec = await play(t.steps, mk());
          expect({ outcomes: rec.outcomes, urcs: rec.urcs, unknown: rec.unknown }).toEqual(t.expected);
          expect(rec.written).toBe(t.written);
        });
      }
    });
  }
});
