import { PassThrough } from 'node:stream';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { AtChannel, type AtUrc } from '../../src/at/index.js';
import { b, byteByByte, CHUNKINGS, FakeModule, lineResponder, randomChunks, whole } from './fake.js';

const channels: AtChannel[] = [];
function open(fake: FakeModule, options: ConstructorParameters<typeof AtChannel>[1] = {}): AtChannel {
  const ch = new AtChannel(fake.stream, { defaultTimeoutMs: 3000, ...options });
  channels.push(ch);
  return ch;
}
afterEach(() => {
  for (const ch of channels.splice(0)) ch.close();
});

/** Wait until `predicate` holds, checking on every event-loop turn (bounded). */
async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('AtChannel: URCs interleaved with commands', () => {
  for (const [name, mk] of CHUNKINGS) {
    it(`URC between a command and its OK, and right after the prompt (${name})`, async () => {
      const fake = new FakeModule(mk());
      const ch = open(fake);
      const urcs: AtUrc[] = [];
      ch.onUrc(/^\d+, ?CLOSED$/, (u) => urcs.push(u));
      ch.onUrc('+RECEIVE', (u) => urcs.push(u));
      ch.onUrc('+PDP', (u) => urcs.push(u));
      fake.on('AT+CSQ\r', '\r\n+CSQ: 20,0\r\n\r\n+PDP: DEACT\r\n\r\nOK\r\n');
      fake.on('AT+CIPSEND=1,3\r\n', '\r\n> \r\n+RECEIVE,1,4:\r\n\r\nOK\r\n');
      fake.on('abc', '\r\n1, SEND OK\r\n');
      const r1 = await ch.send('AT+CSQ');
      expect(r1).toEqual({ command: 'AT+CSQ', lines: ['+CSQ: 20,0'], final: 'OK' });
      const r2 = await ch.send('AT+CIPSEND=1,3', { payload: b('abc') });
      expect(r2).toEqual({ command: 'AT+CIPSEND=1,3', lines: [], final: '1, SEND OK' });
      expect(urcs.map((u) => [u.line, u.data?.toString('latin1')])).toEqual([
        ['+PDP: DEACT', undefined],
        ['+RECEIVE,1,4:', '\r\nOK'],
      ]);
      expect(urcs[1]).toMatchObject({ kind: 'receive', link: 1 });
    });
  }

  it('never takes +CIPRXGET: 1,0 for the answer of AT+CIPRXGET=4,0', async () => {
    const fake = new FakeModule(byteByByte);
    const ch = open(fake);
    const urcs: string[] = [];
    ch.onUrc(/^\+CIPRXGET: ?1,\d+$/, (u) => urcs.push(u.line));
    fake.on('AT+CIPRXGET=4,0\r', '\r\n+CIPRXGET: 1,0\r\n\r\n+CIPRXGET: 4,0,12\r\n\r\nOK\r\n');
    const r = await ch.send('AT+CIPRXGET=4,0');
    expect(r.lines).toEqual(['+CIPRXGET: 4,0,12']);
    expect(urcs).toEqual(['+CIPRXGET: 1,0']);
  });

  it('reports a known URC shape nobody handles as unknown, never as an information line', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const unknown: string[] = [];
    ch.on('unknown', (l: string) => unknown.push(l));
    fake.on('AT+CIPRXGET=4,0\r', '\r\n+CIPRXGET: 1,0\r\n\r\n+CIPRXGET: 4,0,12\r\n\r\nOK\r\n');
    const r = await ch.send('AT+CIPRXGET=4,0');
    expect(r.lines).toEqual(['+CIPRXGET: 4,0,12']);
    expect(unknown).toEqual(['+CIPRXGET: 1,0']);
  });

  it('0, CLOSED during AT+CIPSEND, then +CME ERROR: 3 instead of the prompt: nothing written, rejects', async () => {
    const fake = new FakeModule(randomChunks(7, 4));
    const ch = open(fake);
    const urcs: string[] = [];
    ch.onUrc(/^\d+, ?CLOSED$/, (u) => urcs.push(u.line));
    fake.on('AT+CIPSEND=0,5\r\n', '\r\n0, CLOSED\r\n\r\n+CME ERROR: 3\r\n');
    await expect(ch.send('AT+CIPSEND=0,5', { payload: b('hello') })).rejects.toMatchObject({
      code: 'ERR_CME',
      cme: 3,
      meaning: 'operation not allowed',
    });
    await fake.idle();
    expect(fake.written.toString()).toBe('AT+CIPSEND=0,5\r\n');
    expect(urcs).toEqual(['0, CLOSED']);
    // Still usable.
    fake.on('AT\r', '\r\nOK\r\n');
    await expect(ch.send('AT')).resolves.toMatchObject({ final: 'OK' });
  });

  it("a SEND OK for another link is not this send's final", async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const unknown: string[] = [];
    ch.on('unknown', (l: string) => unknown.push(l));
    fake.on('AT+CIPSEND=2,1\r\n', '\r\n> ');
    fake.on('x', '\r\n1, SEND OK\r\n\r\n2, SEND FAIL\r\n');
    await expect(ch.send('AT+CIPSEND=2,1', { payload: b('x') })).rejects.toMatchObject({
      code: 'ERR_AT_ERROR',
      final: '2, SEND FAIL',
    });
    expect(unknown).toEqual(['1, SEND OK']);
  });

  it('drops echoed commands with echo on, and works the same with echo off', async () => {
    for (const echo of [true, false]) {
      const fake = new FakeModule(randomChunks(echo ? 4 : 5, 3));
      const ch = open(fake);
      const unknown: string[] = [];
      ch.on('unknown', (l: string) => unknown.push(l));
      fake.responder = lineResponder((cmd) => `${echo ? `${cmd}\r` : ''}\r\n+X: ${cmd.length}\r\n\r\nOK\r\n`);
      fake.on('AT+CIPSEND=0,2\r\n', `${echo ? 'AT+CIPSEND=0,2\r\n' : ''}\r\n> `);
      fake.on('\n\n', '\r\n0, SEND OK\r\n');
      expect(await ch.send('AT+CGMR')).toEqual({ command: 'AT+CGMR', lines: ['+X: 7'], final: 'OK' });
      expect((await ch.send('AT+CIPSEND=0,2', { payload: b('\n\n') })).final).toBe('0, SEND OK');
      expect(unknown).toEqual([]);
    }
  });
});

describe('AtChannel: non-standard finals', () => {
  it('SHUT OK, bare IP, <n>, CLOSE OK, CIPSTATUS (OK first, STATE and C: lines after)', async () => {
    const fake = new FakeModule(byteByByte);
    const ch = open(fake);
    const cLines = Array.from({ length: 6 }, (_, i) =>
      i === 1 ? 'C: 1,0,"TCP","60.166.12.210","7500","CONNECTED"' : `C: ${i},,"","","","INITIAL"`,
    );
    fake.on('AT+CIPSHUT\r', '\r\nSHUT OK\r\n');
    fake.on('AT+CIFSR\r', '\r\n010.083.172.111\r\n');
    fake.on('AT+CIPCLOSE=1\r', '\r\n1,CLOSE OK\r\n');
    fake.on('AT+CIPSTATUS\r', `\r\nOK\r\n\r\nSTATE: IP PROCESSING\r\n${cLines.map((l) => `\r\n${l}\r\n`).join('')}`);
    fake.on('AT\r', '\r\nOK\r\n');
    expect((await ch.send('AT+CIPSHUT')).final).toBe('SHUT OK');
    expect((await ch.send('AT+CIFSR')).final).toBe('010.083.172.111');
    expect((await ch.send('AT+CIPCLOSE=1')).final).toBe('1,CLOSE OK');
    expect(await ch.send('AT+CIPSTATUS')).toEqual({
      command: 'AT+CIPSTATUS',
      lines: ['STATE: IP PROCESSING', ...cLines],
      final: 'OK',
    });
    expect((await ch.send('AT')).final).toBe('OK');
  });

  it('CIPSTATUS in a state shared by both modes ends when the lines stop', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+CIPSTATUS\r', '\r\nOK\r\n\r\nSTATE: IP STATUS\r\n');
    expect(await ch.send('AT+CIPSTATUS')).toMatchObject({ lines: ['STATE: IP STATUS'], final: 'OK' });
  });

  it('maps +CME ERROR codes to their meaning, and verbose text too', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+CPIN?\r', '\r\n+CME ERROR: 10\r\n');
    fake.on('AT+CGACT=1,1\r', '\r\n+CME ERROR: operation not allowed\r\n');
    fake.on('AT+X\r', '\r\nERROR\r\n');
    await expect(ch.send('AT+CPIN?')).rejects.toMatchObject({ code: 'ERR_CME', cme: 10, meaning: 'SIM not inserted' });
    await expect(ch.send('AT+CGACT=1,1')).rejects.toMatchObject({
      code: 'ERR_AT_ERROR',
      meaning: 'operation not allowed',
    });
    const err = await ch.send('AT+X').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_AT_ERROR', final: 'ERROR', name: 'AtCommandError' });
  });

  it('takes a custom final matcher', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+HTTPDATA=3,1000\r', '\r\nDOWNLOAD\r\n');
    const r = await ch.send('AT+HTTPDATA=3,1000', { final: (l) => (l === 'DOWNLOAD' ? 'final' : undefined) });
    expect(r.final).toBe('DOWNLOAD');
  });
});

describe('AtChannel: queue, timeouts, cancellation', () => {
  it('resolves 100 concurrent sends in order, one in flight at a time', async () => {
    const fake = new FakeModule(randomChunks(11, 9));
    const ch = open(fake);
    let inFlight = 0;
    let maxInFlight = 0;
    fake.responder = lineResponder((cmd) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setImmediate(() => inFlight--);
      return `\r\n+N: ${cmd.slice(4)}\r\n\r\nOK\r\n`;
    });
    const done: number[] = [];
    const all = Array.from({ length: 100 }, (_, i) =>
      ch.send(`AT+N${i}`).then((r) => {
        done.push(i);
        return r.lines[0];
      }),
    );
    const lines = await Promise.all(all);
    expect(lines).toEqual(Array.from({ length: 100 }, (_, i) => `+N: ${i}`));
    expect(done).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(maxInFlight).toBe(1);
    expect(fake.written.toString()).toBe(Array.from({ length: 100 }, (_, i) => `AT+N${i}\r`).join(''));
  });

  it('times out with ERR_AT_TIMEOUT and keeps the information lines', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+COPS=?\r', '\r\n+COPS: (1,"X")\r\n');
    const err = await ch.send('AT+COPS=?', { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_AT_TIMEOUT',
      command: 'AT+COPS=?',
      timeoutMs: 50,
      lines: ['+COPS: (1,"X")'],
    });
  });

  /** After a timed-out AT+A: the module's late answer arrives at various moments; B must get its own. */
  const lateCases: Array<{
    name: string;
    late: 'idle' | 'before-sync-ok' | 'never';
    lateFinal: string;
    written: string;
  }> = [
    { name: 'late OK while idle', late: 'idle', lateFinal: 'OK', written: 'AT+A\rAT\rAT+B\r' },
    {
      name: 'late OK just before the sync OK',
      late: 'before-sync-ok',
      lateFinal: 'OK',
      written: 'AT+A\rAT\rAT+A780SYNC\rAT+B\r',
    },
    {
      name: 'late ERROR just before the sync OK',
      late: 'before-sync-ok',
      lateFinal: 'ERROR',
      written: 'AT+A\rAT\rAT+B\r',
    },
    { name: 'late +CME ERROR while idle', late: 'idle', lateFinal: '+CME ERROR: 3', written: 'AT+A\rAT\rAT+B\r' },
    { name: 'no late answer at all', late: 'never', lateFinal: '', written: 'AT+A\rAT\rAT+A780SYNC\rAT+B\r' },
  ];
  for (const c of lateCases) {
    it(`never hands a late final to the next command: ${c.name}`, async () => {
      const fake = new FakeModule(randomChunks(c.name.length, 5));
      const ch = open(fake, { syncTimeoutMs: 2000 });
      const unknown: string[] = [];
      ch.on('unknown', (l: string) => unknown.push(l));
      let lateSent = false;
      fake.responder = lineResponder((cmd) => {
        if (cmd === 'AT+A') return undefined; // silent: times out
        if (cmd === 'AT') {
          if (c.late === 'before-sync-ok' && !lateSent) {
            lateSent = true;
            return `\r\n${c.lateFinal}\r\n\r\nOK\r\n`;
          }
          return '\r\nOK\r\n';
        }
        if (cmd === 'AT+A780SYNC') return '\r\nERROR\r\n';
        if (cmd === 'AT+B') return '\r\n+B: 1\r\n\r\nERROR\r\n';
        return '\r\nERROR\r\n';
      });
      await expect(ch.send('AT+A', { timeoutMs: 40 })).rejects.toMatchObject({ code: 'ERR_AT_TIMEOUT' });
      if (c.late === 'idle') {
        fake.send(`\r\n${c.lateFinal}\r\n`);
        await fake.idle();
      }
      // B answers ERROR: had it been handed the late OK, it would have resolved.
      await expect(ch.send('AT+B')).rejects.toMatchObject({ code: 'ERR_AT_ERROR', lines: ['+B: 1'] });
      expect(fake.written.toString()).toBe(c.written);
      fake.responder = lineResponder(() => '\r\nOK\r\n');
      await expect(ch.send('AT+C')).resolves.toMatchObject({ final: 'OK', lines: [] });
      expect(unknown).toEqual([]);
    });
  }

  it('a late non-standard final (0, CLOSE OK) of a timed-out CIPCLOSE is absorbed, not reported as a peer close', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const urcs: string[] = [];
    ch.onUrc(/^\d+, ?CLOSE OK$/, (u) => urcs.push(u.line));
    fake.responder = lineResponder((cmd) => (cmd === 'AT+CIPCLOSE=0' ? undefined : '\r\nOK\r\n'));
    await expect(ch.send('AT+CIPCLOSE=0', { timeoutMs: 30 })).rejects.toMatchObject({ code: 'ERR_AT_TIMEOUT' });
    fake.send('\r\n0, CLOSE OK\r\n');
    await fake.idle();
    expect((await ch.send('AT+CSQ')).final).toBe('OK');
    expect(urcs).toEqual([]);
    // CIPCLOSE cannot answer OK, so the first OK settled the resync without a probe.
    expect(fake.written.toString()).toBe('AT+CIPCLOSE=0\rAT\rAT+CSQ\r');
  });

  it('a CIPSEND that timed out before its prompt puts filler, never its payload, into a late prompt; its late final is absorbed', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+CIPSEND=0,3\r\n', ''); // silent at first
    // The payload is an AT command: written into a late prompt's aftermath it would run.
    const payload = b('AT+CFUN=0\r');
    fake.on(`${' '.repeat(payload.length)}\r`, '');
    await expect(ch.send('AT+CIPSEND=0,3', { payload, timeoutMs: 30 })).rejects.toMatchObject({
      code: 'ERR_AT_TIMEOUT',
      message: expect.stringMatching(/prompt/),
    });
    fake.send('\r\n> ');
    await fake.idle();
    fake.send('\r\nDATA ACCEPT:0,3\r\n');
    await fake.idle();
    fake.on('AT\r', '\r\nOK\r\n');
    fake.on('AT+CSQ\r', '\r\n+CSQ: 9,0\r\n\r\nOK\r\n');
    expect(await ch.send('AT+CSQ')).toMatchObject({ lines: ['+CSQ: 9,0'], final: 'OK' });
    expect(fake.written.toString()).toBe(`AT+CIPSEND=0,3\r\n${' '.repeat(payload.length)}\rAT\rAT+CSQ\r`);
    expect(fake.written.includes(payload)).toBe(false);
  });

  it('a CIPSEND that timed out after its payload went out writes no filler, and a stray "> " later gets nothing', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+CIPSEND=0,5\r\n', '\r\n> ');
    fake.on('hello', ''); // the module never answers the send
    await expect(ch.send('AT+CIPSEND=0,5', { payload: b('hello'), timeoutMs: 50 })).rejects.toMatchObject({
      code: 'ERR_AT_TIMEOUT',
    });
    // Line noise that looks like a prompt: the timed-out send's payload must not go out again.
    fake.send('\r\n> ');
    await fake.idle();
    fake.on('AT\r', '\r\nOK\r\n');
    fake.on('AT+A780SYNC\r', '\r\nERROR\r\n');
    fake.on('AT+CSQ\r', '\r\n+CSQ: 9,0\r\n\r\nOK\r\n');
    expect(await ch.send('AT+CSQ')).toMatchObject({ final: 'OK' });
    expect(fake.written.toString()).toBe('AT+CIPSEND=0,5\r\nhelloAT\rAT+A780SYNC\rAT+CSQ\r');
  });

  it('abandonInflight (the module restarted): the command in flight rejects ERR_AT_ABANDONED at once, a late answer never reaches the next one', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    let late = true;
    fake.responder = lineResponder((cmd) => {
      if (cmd === 'AT+CIPACK=0') return undefined; // lost in the restart
      if (cmd === 'AT' && late) {
        // The abandoned command did reach the module after all: its answer comes first.
        late = false;
        return '\r\n+CIPACK: 5,5,0\r\n\r\nOK\r\n\r\nOK\r\n';
      }
      if (cmd === 'AT+A780SYNC') return '\r\nERROR\r\n';
      if (cmd === 'AT+CSQ') return '\r\n+CSQ: 9,0\r\n\r\nERROR\r\n';
      return '\r\nOK\r\n';
    });
    const ack = ch.send('AT+CIPACK=0', { timeoutMs: 60_000 });
    const next = ch.send('AT+CSQ', { timeoutMs: 60_000 });
    await until(() => fake.written.toString() === 'AT+CIPACK=0\r', 'the command to be written');
    expect(ch.abandonInflight('the module restarted')).toBe(true);
    await expect(ack).rejects.toMatchObject({
      code: 'ERR_AT_ABANDONED',
      command: 'AT+CIPACK=0',
      message: expect.stringMatching(/restarted/),
    });
    // The queued command goes out after a resync, not after the abandoned one's 60 s timeout, and
    // gets its own answer (ERROR), not the late OK.
    await expect(next).rejects.toMatchObject({ code: 'ERR_AT_ERROR', lines: ['+CSQ: 9,0'] });
    expect(fake.written.toString()).toBe('AT+CIPACK=0\rAT\rAT+A780SYNC\rAT+CSQ\r');
    expect(ch.abandonInflight('nothing in flight')).toBe(false);
  });

  it('abandonInflight during a resync (the module restarted after a timeout): the lost probe is sent again at once, not waited out', async () => {
    const fake = new FakeModule(whole);
    // Without the restart of the resync, the queued command would wait these 60 s.
    const ch = open(fake, { syncTimeoutMs: 60_000 });
    let ats = 0;
    fake.responder = lineResponder((cmd) => {
      if (cmd === 'AT+CIPACK=0') return undefined; // the module hangs…
      if (cmd === 'AT' && ++ats === 1) return undefined; // …and the resync's AT is lost in its restart
      if (cmd === 'AT+A780SYNC') return '\r\nERROR\r\n';
      if (cmd === 'AT+CSQ') return '\r\n+CSQ: 9,0\r\n\r\nOK\r\n';
      return '\r\nOK\r\n';
    });
    await expect(ch.send('AT+CIPACK=0', { timeoutMs: 30 })).rejects.toMatchObject({ code: 'ERR_AT_TIMEOUT' });
    const next = ch.send('AT+CSQ', { timeoutMs: 60_000 });
    await until(() => fake.written.toString() === 'AT+CIPACK=0\rAT\r', 'the resync to start');
    expect(ch.abandonInflight('the module restarted')).toBe(false);
    await expect(next).resolves.toMatchObject({ lines: ['+CSQ: 9,0'], final: 'OK' });
    // The restarted resync cannot tell a late OK of the lost AT from its own: it probes.
    expect(fake.written.toString()).toBe('AT+CIPACK=0\rAT\rAT\rAT+A780SYNC\rAT+CSQ\r');
  }, 10_000);

  it('abandonInflight during a resync whose lost probe and timed-out command are answered after all: all late finals are absorbed, the next command gets its own answer', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake, { syncTimeoutMs: 60_000 });
    let ats = 0;
    let held: FakeModule | undefined;
    fake.responder = lineResponder((cmd) => {
      if (cmd === 'AT+CIPACK=0') return undefined;
      if (cmd === 'AT' && ++ats === 1) {
        held = fake;
        return undefined;
      }
      // The timed-out command's late ERROR, the first AT's late OK, then its own OK.
      if (cmd === 'AT' && ats === 2) return '\r\n+CME ERROR: 3\r\n\r\nOK\r\n\r\nOK\r\n';
      if (cmd === 'AT+A780SYNC') return '\r\nERROR\r\n';
      if (cmd === 'AT+CSQ') return '\r\n+CSQ: 9,0\r\n\r\nERROR\r\n';
      return '\r\nOK\r\n';
    });
    await expect(ch.send('AT+CIPACK=0', { timeoutMs: 30 })).rejects.toMatchObject({ code: 'ERR_AT_TIMEOUT' });
    const next = ch.send('AT+CSQ', { timeoutMs: 60_000 });
    await until(() => held !== undefined, 'the resync to start');
    ch.abandonInflight('the module restarted');
    await expect(next).rejects.toMatchObject({ code: 'ERR_AT_ERROR', lines: ['+CSQ: 9,0'] });
    expect(fake.written.toString()).toBe('AT+CIPACK=0\rAT\rAT\rAT+A780SYNC\rAT+CSQ\r');
  }, 10_000);

  it('when the module does not answer the resync, the next command fails fast and the channel retries later', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake, { syncTimeoutMs: 60 });
    let alive = false;
    fake.responder = lineResponder((cmd) => {
      if (!alive) return undefined;
      if (cmd === 'AT+A780SYNC') return '\r\nERROR\r\n';
      return '\r\nOK\r\n';
    });
    await expect(ch.send('AT+A', { timeoutMs: 30 })).rejects.toMatchObject({ code: 'ERR_AT_TIMEOUT' });
    await expect(ch.send('AT+B')).rejects.toMatchObject({ code: 'ERR_AT_TIMEOUT', command: 'AT+B' });
    expect(fake.written.toString()).toBe('AT+A\rAT\r');
    alive = true;
    await expect(ch.send('AT+C')).resolves.toMatchObject({ final: 'OK' });
    expect(fake.written.toString()).toBe('AT+A\rAT\rAT\rAT+A780SYNC\rAT+C\r');
  });

  it('AbortSignal already aborted: rejects ERR_ABORTED, nothing written', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const ac = new AbortController();
    ac.abort();
    await expect(ch.send('AT', { signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await fake.idle();
    expect(fake.written.length).toBe(0);
  });

  it('AbortSignal while queued: never written; while in flight: rejects, its late OK is absorbed', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const gates: Array<() => void> = [];
    fake.responder = lineResponder((cmd) => {
      gates.push(() => fake.send(`\r\n+R: ${cmd}\r\n\r\nOK\r\n`));
      return undefined;
    });
    const acFlight = new AbortController();
    const acQueued = new AbortController();
    const first = ch.send('AT+FIRST', { signal: acFlight.signal });
    const queued = ch.send('AT+QUEUED', { signal: acQueued.signal });
    const last = ch.send('AT+LAST');
    await until(() => gates.length === 1, 'first command written');
    acQueued.abort();
    await expect(queued).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    acFlight.abort();
    await expect(first).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(fake.written.toString()).toBe('AT+FIRST\r');
    gates[0]!(); // the aborted command's answer arrives
    await until(() => gates.length === 2, 'last command written');
    gates[1]!();
    await expect(last).resolves.toEqual({ command: 'AT+LAST', lines: ['+R: AT+LAST'], final: 'OK' });
    expect(fake.written.toString()).toBe('AT+FIRST\rAT+LAST\r');
  });
});

describe('AtChannel: closing', () => {
  it('close() rejects queued and in-flight commands with ERR_AT_CLOSED and emits close', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    let closed = 0;
    ch.on('close', () => closed++);
    const p1 = ch.send('AT+A');
    const p2 = ch.send('AT+B');
    ch.close();
    await expect(p1).rejects.toMatchObject({ code: 'ERR_AT_CLOSED' });
    await expect(p2).rejects.toMatchObject({ code: 'ERR_AT_CLOSED' });
    await expect(ch.send('AT')).rejects.toMatchObject({ code: 'ERR_AT_CLOSED' });
    expect(() => ch.writeRaw('AT\r')).toThrow(expect.objectContaining({ code: 'ERR_AT_CLOSED' }));
    ch.close();
    expect(closed).toBe(1);
    expect(fake.stream.destroyed).toBe(false);
  });

  it('stream end rejects pending commands with a clear ERR_AT_CLOSED and emits close', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const closeEvent = new Promise((r) => ch.once('close', r));
    const p = ch.send('AT+A');
    fake.stream.push(null);
    await expect(p).rejects.toMatchObject({ code: 'ERR_AT_CLOSED', message: expect.stringMatching(/ended/) });
    await closeEvent;
    expect(ch.isClosed).toBe(true);
  });

  it('stream error rejects pending commands with the error as cause, emits error then close', async () => {
    const stream = new PassThrough();
    const ch = new AtChannel(stream);
    channels.push(ch);
    const errors: Error[] = [];
    ch.on('error', (e: Error) => errors.push(e));
    const p = ch.send('AT+A');
    const boom = new Error('EIO: device unplugged');
    stream.destroy(boom);
    const err = (await p.catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('ERR_AT_CLOSED');
    expect(err.cause).toBe(boom);
    expect(err.message).toMatch(/EIO/);
    expect(errors).toEqual([boom]);
  });

  it('a stream error without error listeners does not throw', async () => {
    const stream = new PassThrough();
    const ch = new AtChannel(stream);
    channels.push(ch);
    const p = ch.send('AT+A');
    stream.destroy(new Error('EIO'));
    await expect(p).rejects.toMatchObject({ code: 'ERR_AT_CLOSED' });
  });
});

describe('AtChannel: console support, unknown lines, garbage', () => {
  it("writeRaw writes bytes as given; 'line' shows every line, echo and prompt", async () => {
    const fake = new FakeModule(byteByByte);
    const ch = open(fake);
    const seen: string[] = [];
    ch.on('line', (l: string) => seen.push(l));
    fake.on('ATI\r', 'ATI\r\r\nAirM2M_780E_V1171_LTE_AT\r\n\r\nOK\r\n\r\n> ');
    ch.writeRaw('ATI\r');
    await fake.idle();
    expect(seen).toEqual(['ATI', 'AirM2M_780E_V1171_LTE_AT', 'OK', '> ']);
    expect(fake.written.toString()).toBe('ATI\r');
  });

  it("unsolicited lines nobody claims are reported as 'unknown'; garbage resyncs", async () => {
    const fake = new FakeModule(randomChunks(9, 3));
    const ch = open(fake, { maxLineLength: 32 });
    const unknown: Array<[string, string | undefined]> = [];
    ch.on('unknown', (l: string, d?: Buffer) => unknown.push([l, d?.toString('latin1')]));
    fake.send(
      Buffer.concat([
        b("^boot.rom'v'!\r\nRDY\r\n"),
        Buffer.from([0, 0xff, 0x0d, 0x0a]),
        b(`${'z'.repeat(40)}\r\n+RECEIVE,2,3:\r\nxyz\r\n+RECEIVE,0,99999:\r\n`),
      ]),
    );
    fake.on('AT\r', '\r\nOK\r\n');
    await fake.idle();
    expect(unknown).toEqual([
      ["^boot.rom'v'!", undefined],
      ['RDY', undefined],
      ['\ufffd', undefined],
      ['z'.repeat(32), undefined], // garbage preview of the over-long line (maxLineLength bytes)
      ['+RECEIVE,2,3:', 'xyz'],
      ['+RECEIVE,0,99999:', undefined],
    ]);
    expect((await ch.send('AT')).final).toBe('OK');
  });

  it('a URC handler that throws does not break the channel', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    const errors: unknown[] = [];
    ch.on('error', (e) => errors.push(e));
    const got: string[] = [];
    ch.onUrc('RDY', () => {
      throw new Error('handler bug');
    });
    const off = ch.onUrc('RDY', (u) => got.push(u.line));
    fake.on('AT\r', '\r\nRDY\r\n\r\nOK\r\n');
    expect((await ch.send('AT')).lines).toEqual([]);
    expect(got).toEqual(['RDY']);
    expect(errors).toHaveLength(1);
    off();
  });
});

describe('AtChannel: tracing', () => {
  it('errors quote a refused or timed-out command with its secret arguments masked', async () => {
    const fake = new FakeModule(whole);
    const ch = open(fake);
    fake.on('AT+CSTT="cmnet","user","s3cret!"\r', '\r\n+CME ERROR: 3\r\n');
    const refused = (await ch.send('AT+CSTT="cmnet","user","s3cret!"').catch((e: unknown) => e)) as Error & {
      command: string;
    };
    expect(refused).toMatchObject({ code: 'ERR_CME', command: 'AT+CSTT="cmnet","user","***"' });
    expect(refused.message).toContain('AT+CSTT="cmnet","user","***" failed');
    fake.responder = lineResponder(() => undefined);
    const timedOut = (await ch.send('AT+CPIN="1234"', { timeoutMs: 30 }).catch((e: unknown) => e)) as Error & {
      command: string;
    };
    expect(timedOut).toMatchObject({ code: 'ERR_AT_TIMEOUT', command: 'AT+CPIN="***"' });
    for (const e of [refused, timedOut]) expect(`${e.message} ${e.command} ${e.stack}`).not.toMatch(/s3cret|1234/);
  });

  it('traces a request head sent as a payload by its request line only, query values masked', async () => {
    const out: string[] = [];
    const prevLog = createDebug.log;
    const prevNs = createDebug.disable();
    createDebug.enable('air780:at');
    createDebug.log = (...args: unknown[]) => out.push(args.map(String).join(' '));
    const head = Buffer.from(
      'GET /ws/feed?token=T0KEN&device=7 HTTP/1.1\r\nHost: example.com\r\nX-Custom-Key: K3Y\r\nAuthorization: Bearer B3ARER\r\nUpgrade: websocket\r\n\r\n',
      'latin1',
    );
    try {
      const fake = new FakeModule(whole);
      const ch = open(fake, { name: 'ttyTEST' });
      fake.on(`AT+CIPSEND=0,${head.length}\r\n`, '\r\n> ');
      fake.on(head, `\r\nDATA ACCEPT:0,${head.length}\r\n`);
      await ch.send(`AT+CIPSEND=0,${head.length}`, { payload: head });
    } finally {
      createDebug.log = prevLog;
      createDebug.disable();
      if (prevNs) createDebug.enable(prevNs);
    }
    const text = out.join('\n');
    for (const secret of ['T0KEN', 'K3Y', 'B3ARER', 'device=7']) expect(text).not.toContain(secret);
    expect(text).toContain(
      `GET /ws/feed?token=***&device=*** HTTP/1.1\\r\\n… (request head, ${head.length} bytes; headers not traced)`,
    );
  });

  it('traces bytes both ways with escapes, redacts passwords, summarises large payloads', async () => {
    const out: string[] = [];
    const prevLog = createDebug.log;
    const prevNs = createDebug.disable();
    createDebug.enable('air780:at');
    createDebug.log = (...args: unknown[]) => out.push(args.map(String).join(' '));
    try {
      const fake = new FakeModule(whole);
      const ch = open(fake, { name: 'ttyTEST' });
      fake.on('AT+CSTT="cmnet","user","s3cret!"\r', '\r\nOK\r\n');
      fake.on('AT+CSTT?\r', '\r\n+CSTT: "cmnet","user","s3cret!"\r\n\r\nOK\r\n');
      const payload = Buffer.alloc(1000, 0x41);
      fake.on('AT+CIPSEND=0,1000\r\n', '\r\n> ');
      fake.on(payload, '\r\nDATA ACCEPT:0,1000\r\n');
      await ch.send('AT+CSTT="cmnet","user","s3cret!"');
      await ch.send('AT+CSTT?');
      await ch.send('AT+CIPSEND=0,1000', { payload });
    } finally {
      createDebug.log = prevLog;
      createDebug.disable();
      if (prevNs) createDebug.enable(prevNs);
    }
    const text = out.join('\n');
    expect(text).not.toContain('s3cret');
    expect(text).toContain('AT+CSTT="cmnet","user","***"\\r');
    expect(text).toContain('+CSTT: "cmnet","user","***"');
    expect(text).toContain('\\r\\nOK\\r\\n');
    expect(text).toContain('payload 1000 bytes');
    expect(text).not.toContain('A'.repeat(200));
    expect(text).toContain('ttyTEST');
  });
});
