/**
 * AtConsole in process, over a scripted module: what it writes for typed lines, and what it shows
 * for the module's bytes, the same whatever chunks they come in (whole, byte by byte, random).
 */
import { describe, expect, it } from 'vitest';
import { AtConsole, type ConsoleOutput } from '../../src/cli/console.js';
import { rng } from '../helpers/rng.js';
import { fakeModule } from './fake-module.js';

const tick = () => new Promise((r) => setImmediate(r));

type Split = (b: Buffer) => Buffer[];
const whole: Split = (b) => [b];
const bytewise: Split = (b) => [...b].map((x) => Buffer.from([x]));
const random =
  (seed: number): Split =>
  (b) => {
    const rnd = rng(seed);
    const out: Buffer[] = [];
    for (let i = 0; i < b.length; ) {
      const n = 1 + Math.floor(rnd() * 7);
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  };

async function session(split: Split): Promise<{ shown: ConsoleOutput[]; written: string }> {
  const m = fakeModule();
  const shown: ConsoleOutput[] = [];
  const con = new AtConsole(m.stream, { output: (o) => shown.push(o), mux: true });
  const from = async (text: string) => {
    for (const c of split(Buffer.from(text, 'latin1'))) {
      m.send(c);
      await tick();
    }
  };
  con.submit('AT+CIPSEND=0,5');
  await tick();
  await from('\r\n> ');
  expect(con.inPayload).toBe(true);
  con.submit('hel');
  con.submit('lo');
  await from('\r\n0, SEND OK\r\n\r\n+RECEIVE,0,7:\r\nab\r\nOK\r\n\r\n0, CLOSED\r\n');
  con.submit('AT+CIPSTATUS=0');
  await tick();
  await from('\r\n+CIPSTATUS: 0,0,"TCP","1.2.3.4","80","CLOSED"\r\n\r\nOK\r\n');
  await con.idle();
  con.close();
  return { shown, written: m.written().toString('latin1') };
}

describe('AtConsole', () => {
  it('prompt, payload as typed in two lines, block data with CRLF inside, URCs and responses told apart: any chunking', async () => {
    const runs = [
      await session(whole),
      await session(bytewise),
      ...(await Promise.all([1, 2, 3, 4, 5].map((s) => session(random(s))))),
    ];
    const expected: ConsoleOutput[] = [
      { kind: 'prompt', remaining: 5 },
      { kind: 'prompt', remaining: 2 },
      { kind: 'response', line: '0, SEND OK' },
      { kind: 'urc', line: '+RECEIVE,0,7:' },
      { kind: 'data', data: Buffer.from('ab\r\nOK\r') },
      { kind: 'urc', line: '0, CLOSED' },
      { kind: 'response', line: '+CIPSTATUS: 0,0,"TCP","1.2.3.4","80","CLOSED"' },
      { kind: 'response', line: 'OK' },
    ];
    for (const r of runs) {
      expect(r.shown).toEqual(expected);
      expect(r.written).toBe('AT+CIPSEND=0,5\rhelloAT+CIPSTATUS=0\r');
    }
  });

  it('a typed line longer than the announced length is cut, and said so', async () => {
    const m = fakeModule();
    const shown: ConsoleOutput[] = [];
    const con = new AtConsole(m.stream, { output: (o) => shown.push(o), mux: false });
    con.submit('AT+CIPSEND=3'); // single-link: the argument is the length
    await tick();
    m.send(Buffer.from('\r\n> '));
    await tick();
    con.submit('abcdef');
    m.send(Buffer.from('\r\nSEND OK\r\n'));
    await con.idle();
    expect(m.written().toString()).toBe('AT+CIPSEND=3\rabc');
    expect(shown).toContainEqual({ kind: 'note', text: '3 bytes beyond the announced 3 were not sent' });
    expect(shown.at(-1)).toEqual({ kind: 'response', line: 'SEND OK' });
    con.close();
  });

  it('no final result: the command is given up after its timeout and the next one runs', async () => {
    const m = fakeModule();
    const shown: ConsoleOutput[] = [];
    const con = new AtConsole(m.stream, { output: (o) => shown.push(o), timeoutMs: () => 50 });
    con.submit('AT+CSQ');
    con.submit('ATI');
    await tick();
    expect(m.written().toString()).toBe('AT+CSQ\r');
    await new Promise((r) => setTimeout(r, 120));
    expect(m.written().toString()).toBe('AT+CSQ\rATI\r');
    expect(shown).toContainEqual({
      kind: 'note',
      text: 'no final result for AT+CSQ within 0.05 s; what comes later is shown as it arrives',
    });
    con.close();
  });

  it('a read whose data does not end where announced is not shown as data, and said so', async () => {
    const m = fakeModule();
    const shown: ConsoleOutput[] = [];
    const con = new AtConsole(m.stream, { output: (o) => shown.push(o), mux: true });
    con.submit('AT+CIPRXGET=2,0,10');
    await tick();
    m.send(Buffer.from('\r\n+CIPRXGET: 2,0,10,0\r\n0123789\r\n\r\nOK\r\n')); // 3 bytes lost on the line
    await con.idle();
    expect(shown.filter((o) => o.kind === 'data')).toEqual([]);
    expect(shown).toContainEqual({
      kind: 'note',
      text: 'the data did not end where announced (bytes lost or added on the line); not shown',
    });
    expect(shown.at(-1)).toEqual({ kind: 'response', line: 'OK' });
    con.close();
  });
});
