/**
 * `air780 at` as a raw console: nothing but the console on the port, so typed link commands own
 * their link, URCs are shown as they arrive, and the `> ` prompt takes the next line as payload.
 * Also: `at` and `info` on a module with no SIM / a locked SIM / no coverage, and on a port that
 * does not answer AT at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, ROOT, runCli } from './build.js';
import { startCli, type CliSession, useBuiltCli } from './spawn.js';
import { runInPty, type PtySession } from './pty.js';
import { startTcpServer } from './tcp-server.js';

const cleanups = useBuiltCli();

/** A TCP echo server on 127.0.0.1 that also records every byte it got. */
async function recordingEcho(): Promise<{ port: number; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const port = await startTcpServer(cleanups, (s) =>
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      s.write(d);
    }),
  );
  return { port, received: () => Buffer.concat(chunks) };
}

const BEARER = 'AT+CIPMUX=1\nAT+CSTT\nAT+CIICR\nAT+CIFSR\n';

describe('air780 at: a raw console (piped stdin, written as a person would)', () => {
  it('CIPSTART shows CONNECT OK; a fixed-length send takes exactly the typed bytes; Ctrl-Z send; the echoes arrive as +RECEIVE', async () => {
    const echo = await recordingEcho();
    const s: CliSession = startCli(['at', '--mock']);
    cleanups.push(() => s.kill());
    s.write(`${BEARER}AT+CIPSTART=0,"TCP","127.0.0.1",${echo.port}\n`);
    // The URC the driver used to take ("unexpected") is the console's to show.
    await s.waitFor(/^0, CONNECT OK$/m, 'no CONNECT OK');

    s.write('AT+CIPSEND=0,5\nhello\n');
    await s.waitFor(/^\+RECEIVE,0,5:\nhello$/m, 'no echo of hello');
    // Fixed length: no CR/LF added. A payload shorter than announced leaves the prompt open.
    s.write('AT+CIPSEND=0,7\nabc\ndefg\n');
    await s.waitFor(/^\+RECEIVE,0,7:\nabcdefg$/m, 'no echo of abcdefg');
    // Variable length: the line, then Ctrl-Z, which the console adds.
    s.write('AT+CIPSEND=0\nvariable!\n');
    await s.waitFor(/^\+RECEIVE,0,9:\nvariable!$/m, 'no echo of the Ctrl-Z send');
    // The next line after a send is a command again (it used to time out after 9 s).
    s.write('AT+CIPCLOSE=0\nATI\n');
    s.end();
    expect(await s.exited, s.stderr).toBe(0);

    expect(echo.received().toString('latin1')).toBe('helloabcdefgvariable!');
    const out = s.stdout.split('\n');
    // Each send: the prompt, then the module's acceptance, in order.
    const sendAt = out.indexOf('+RECEIVE,0,5:');
    expect(out.slice(out.indexOf('0, CONNECT OK') + 1, sendAt)).toEqual(['> ', '0, SEND OK']);
    expect(out).toContain('0, CLOSE OK');
    expect(out.slice(-3)).toEqual(['AirM2M_780E_V1171_LTE_AT', 'OK', '']);
    expect(s.stderr).not.toMatch(/no final result|timed? ?out/i);
  });

  it('end of input inside a payload: a Ctrl-Z send is cancelled with ESC (exit 0), a fixed-length one is reported (exit 1)', async () => {
    const echo = await recordingEcho();
    const open = async (): Promise<CliSession> => {
      const s = startCli(['at', '--mock']);
      cleanups.push(() => s.kill());
      s.write(`${BEARER}AT+CIPSTART=0,"TCP","127.0.0.1",${echo.port}\n`);
      await s.waitFor(/^0, CONNECT OK$/m, 'no CONNECT OK');
      return s;
    };
    const variable = await open();
    variable.write('AT+CIPSEND=0\n');
    await variable.waitFor(/^> $/m, 'no prompt');
    variable.end();
    expect(await variable.exited, variable.stderr).toBe(0);
    expect(variable.stderr).toContain('(payload cancelled (end of input): ESC sent)');

    const fixed = await open();
    fixed.write('AT+CIPSEND=0,10\nabc\n');
    await fixed.waitFor(/^> \n> $/m, 'no second prompt after 3 of 10 bytes');
    fixed.end();
    expect(await fixed.exited, fixed.stderr).toBe(1);
    expect(fixed.stderr).toContain(
      '(end of input with 7 of the announced 10 payload bytes not typed; the module still waits for them)',
    );
    // Nothing was made up: the module never got a complete payload, so nothing reached the peer.
    expect(echo.received().length).toBe(0);
  });
});

describe('air780 at on a terminal: the prompt round trip', () => {
  let pty: PtySession | undefined;
  afterEach(() => {
    pty?.kill();
    pty = undefined;
  });

  it('URC: 0, CONNECT OK as it arrives, a "> (5 bytes)" prompt, the echo as URC + data', async () => {
    const echo = await recordingEcho();
    pty = runInPty(process.execPath, [MAIN, 'at', '--mock'], ROOT);
    const p = pty;
    await p.waitFor(/Ctrl-C or Ctrl-D exits\.\nAT>$/, 'no console prompt');
    for (const c of BEARER.trim().split('\n')) {
      p.type(`${c}\r`);
      await p.waitFor(
        (t) => t.endsWith(`${c}\n${c === 'AT+CIFSR' ? '10.83.172.111' : 'OK'}\nAT>`),
        `no answer to ${c}`,
      );
    }
    p.type(`AT+CIPSTART=0,"TCP","127.0.0.1",${echo.port}\r`);
    await p.waitFor(/^URC: 0, CONNECT OK$/m, 'no CONNECT OK URC');
    p.type('AT+CIPSEND=0,5\r');
    await p.waitFor(/> \(5 bytes\)$/, 'no payload prompt');
    p.type('hello\r');
    await p.waitFor(/^URC: \+RECEIVE,0,5:\nhello\n/m, 'no echo');
    await p.waitFor(/AT>$/, 'no command prompt after the send');
    p.type('\x03');
    expect(await p.exited).toBe(0);
    expect(echo.received().toString()).toBe('hello');
  }, 40_000);
});

describe('no SIM, locked SIM, no coverage: at and info still work', () => {
  it('at: the console opens at once on a module without SIM and shows its errors', async () => {
    const r = await runCli(['at', '--mock'], {
      input: 'AT+CPIN?\nAT+CGSN\n',
      env: { AIR780_MOCK_OPTIONS: '{"sim":"absent"}' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('+CME ERROR: 10\n359759002514931\nOK\n');
  });

  it('info without SIM: identity shown, the rest with the reason, exit 0', async () => {
    const r = await runCli(['info', '--mock'], { env: { AIR780_MOCK_OPTIONS: '{"sim":"absent"}' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^IMEI +359759002514931$/m);
    expect(r.stdout).toMatch(/^Firmware +AirM2M_780E_V1171_LTE_AT$/m);
    expect(r.stdout).toMatch(/^SIM +not inserted \(\+CME ERROR: 10\)$/m);
    expect(r.stdout).toMatch(/^IMSI +SIM not inserted/m);
    expect(r.stdout).toMatch(/^Registration +not registered: no usable SIM \(stat 0, CEREG\)$/m);
    expect(r.stdout).toMatch(/^IP +none \(not registered\)$/m);
    expect(r.stdout).toMatch(/^Signal +unknown \(CSQ 99\)/m);
    const json = await runCli(['info', '--mock', '--json'], { env: { AIR780_MOCK_OPTIONS: '{"sim":"absent"}' } });
    const report = JSON.parse(json.stdout) as { imei: string; imsi?: string; unavailable: Record<string, string> };
    expect(report.imei).toBe('359759002514931');
    expect(report.imsi).toBeUndefined();
    expect(report.unavailable.sim).toBe('not inserted (+CME ERROR: 10)');
  });

  it('info with a PIN-locked SIM and with no coverage', async () => {
    const pin = await runCli(['info', '--mock'], { env: { AIR780_MOCK_OPTIONS: '{"sim":"pin"}' } });
    expect(pin.code, pin.stderr).toBe(0);
    expect(pin.stdout).toMatch(/^SIM +locked: PIN required \(\+CPIN: SIM PIN\)$/m);
    expect(pin.stdout).toMatch(/^ICCID +.*\+CME ERROR: 11/m);
    const searching = await runCli(['info', '--mock'], {
      env: { AIR780_MOCK_OPTIONS: '{"registrationDelayMs":600000}' },
    });
    expect(searching.code, searching.stderr).toBe(0);
    expect(searching.stdout).toMatch(/^SIM +ready$/m);
    expect(searching.stdout).toMatch(/^IMSI +460011234567890$/m);
    expect(searching.stdout).toMatch(/^Registration +searching \(stat 2, CEREG\)$/m);
    expect(searching.stdout).toMatch(/^Operator +none \(not registered\)$/m);
    // Bring-up would have waited up to 120 s for registration; info asks and reports.
    expect(searching.stderr).not.toContain('waiting for network registration');
  });

  it('AIR780_MOCK_OPTIONS that is not JSON: usage error', async () => {
    const r = await runCli(['info', '--mock'], { env: { AIR780_MOCK_OPTIONS: '{sim:absent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^air780: AIR780_MOCK_OPTIONS is not JSON/m);
  });
});

describe('a port where nothing answers AT', () => {
  const socats: ChildProcess[] = [];
  afterEach(() => {
    for (const p of socats.splice(0)) p.kill('SIGKILL');
  });

  /** A pty whose other side swallows everything: a serial port with nothing behind it. */
  async function deadPort(dir: string, name: string): Promise<string> {
    const link = join(dir, name);
    socats.push(spawn('socat', [`PTY,link=${link},raw,echo=0`, 'SYSTEM:cat >/dev/null'], { stdio: 'ignore' }));
    for (let i = 0; i < 100 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(link)).toBe(true);
    return link;
  }

  it('info and at: exit 1 with one line and a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-dead-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const [a, b] = [await deadPort(dir, 'a'), await deadPort(dir, 'b')];
    const [info, at] = await Promise.all([
      runCli(['info', '--port', a], { timeoutMs: 30_000 }),
      runCli(['at', '--port', b], { input: 'ATI\n', timeoutMs: 30_000 }),
    ]);
    for (const [r, link] of [
      [info, a],
      [at, b],
    ] as const) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`air780: ${link} did not answer AT (6 tries, 1 s each)`);
      expect(r.stderr).toMatch(/hint: is the module powered and is this its AT port/);
    }
  }, 40_000);
});
