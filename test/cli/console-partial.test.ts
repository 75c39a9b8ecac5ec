/**
 * AtConsole shows bytes that have no line end (raw socket data in single-link mode) once the port
 * has been quiet for PARTIAL_QUIET_MS, or when it closes: whatever chunks they come in, once, and
 * the lines after them are read in step.
 */
import { describe, expect, it } from 'vitest';
import { AtConsole, PARTIAL_QUIET_MS, type ConsoleOutput } from '../../src/cli/console.js';
import { rng } from '../helpers/rng.js';
import { fakeModule } from './fake-module.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
      const n = 1 + Math.floor(rnd() * 5);
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  };

async function run(split: Split): Promise<ConsoleOutput[]> {
  const m = fakeModule();
  const shown: ConsoleOutput[] = [];
  const con = new AtConsole(m.stream, { output: (o) => shown.push(o), mux: false });
  const from = async (text: string) => {
    for (const c of split(Buffer.from(text, 'latin1'))) {
      m.send(c);
      await tick();
    }
  };
  // A line, then raw echo bytes with no line end, in several chunks (no quiet spell between).
  await from('\r\nCONNECT OK\r\nhel');
  await from('lo');
  await sleep(PARTIAL_QUIET_MS * 2);
  // What follows is read on its own: a line and more raw bytes, then the console closes.
  con.submit('ATI');
  await tick();
  await from('\r\nAirM2M_780E_V1171_LTE_AT\r\nOK\r\nbye');
  await con.idle();
  con.close();
  return shown;
}

describe('AtConsole: bytes without a line end', () => {
  it('shown once after a quiet spell and at close, lines after them in step: any chunking', async () => {
    const expected: ConsoleOutput[] = [
      { kind: 'urc', line: 'CONNECT OK' },
      { kind: 'partial', data: Buffer.from('hello') },
      { kind: 'response', line: 'AirM2M_780E_V1171_LTE_AT' },
      { kind: 'response', line: 'OK' },
      { kind: 'partial', data: Buffer.from('bye') },
    ];
    for (const split of [whole, bytewise, random(1), random(2), random(3)]) {
      expect(await run(split)).toEqual(expected);
    }
  });

  it('a line whose end comes before the quiet spell is one line', async () => {
    const m = fakeModule();
    const shown: ConsoleOutput[] = [];
    const con = new AtConsole(m.stream, { output: (o) => shown.push(o), mux: false });
    m.send(Buffer.from('\r\n+CSQ: 2'));
    await sleep(PARTIAL_QUIET_MS / 4);
    m.send(Buffer.from('0,99\r\n'));
    await sleep(PARTIAL_QUIET_MS * 2);
    con.close();
    expect(shown).toEqual([{ kind: 'urc', line: '+CSQ: 20,99' }]);
  });
});
