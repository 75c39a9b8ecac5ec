/**
 * What a new user saw on the command line in their first hour (issue 16), spawned as they ran it:
 * each output asserted as the exact stderr line(s) now printed.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MAIN, ROOT, runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';
import { startTcpServer } from './tcp-server.js';
import { recordingServers, runCliBytes } from './ws-helpers.js';

const cleanups = useBuiltCli();
const server = recordingServers(cleanups);

describe('error lines name the program once', () => {
  it('demo --port without --url', async () => {
    const r = await runCli(['demo', '--port', '/tmp/air780-nothing-here']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'air780: with --port, give --url too\n  hint: e.g. --url ws://your-server:8081/ws/echo (LuatOS tools/ws_echo_server.py), or use --mock\n',
    );
  });

  it('ws with a URL that is not ws://', async () => {
    const r = await runCli(['ws', '--mock', 'example.com']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "air780: 'example.com' is not a ws:// or wss:// URL\n  hint: e.g. air780 ws ws://echo.example.com/ws\n",
    );
  });

  it('mock with an unknown quirk', async () => {
    const r = await runCli(['mock', '--link', '/tmp/air780-unused', '--quirk', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("air780: unknown quirk 'nope'");
  });
});

describe('info', () => {
  it('a missing port: the OS reason once, without a nested "Error:"', async () => {
    const r = await runCli(['info', '--port', '/dev/ttyACM-air780-missing']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[1]).toBe(
      'air780: cannot open serial port /dev/ttyACM-air780-missing: No such file or directory; check the path (`air780 ports` lists the ports; USB ports appear as /dev/ttyACM* or /dev/ttyUSB*)',
    );
  });

  it('--mock with --port is refused (exit 2), not --port silently ignored', async () => {
    const r = await runCli(['info', '--mock', '--port', '/tmp/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'air780: --mock and --port name two different modules\n  hint: give one: --mock for the embedded mock, or --port PATH for a module\n',
    );
    expect(r.stdout).toBe('');
  });

  it('no module and no flags: the hint offers --mock', async () => {
    // This machine has no Air780 plugged in (as CI): discovery finds none.
    const r = await runCli(['info'], { env: { AIR780_PORT: undefined }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^air780: no Air780 module found \(.*\); plug it in, set AIR780_PORT, or pass --port PATH$/m,
    );
    expect(r.stderr).toContain('\n  hint: no module at hand? add --mock to run on the embedded mock\n');
  }, 70_000);
});

describe('counts in status lines', () => {
  it('demo --count 1 says "1 echo"', async () => {
    const r = await runCli(['demo', '--count', '1', '--no-reboot'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ done {4}1 echo$/m);
  }, 70_000);

  it('at: a payload line one byte too long says "1 byte beyond"', async () => {
    const port = await startTcpServer(cleanups, (s) => s.resume());
    const s = startCli(['at', '--mock']);
    cleanups.push(() => s.kill());
    s.write(`AT+CSTT\nAT+CIICR\nAT+CIFSR\nAT+CIPSTART="TCP","127.0.0.1",${port}\n`);
    await s.waitFor(/^CONNECT OK$/m, 'no CONNECT OK');
    s.write('AT+CIPSEND=3\nabcd\n');
    await s.waitFor(/^SEND OK$/m, 'no SEND OK');
    s.end();
    expect(await s.exited, s.stderr).toBe(0);
    expect(s.stderr.split('\n')).toContain('(1 byte beyond the announced 3 were not sent)');
  }, 60_000);
});

describe('at: socket data without a line end', () => {
  it('is shown after a quiet spell, marked, while the console still runs', async () => {
    const port = await startTcpServer(cleanups, (c) => c.pipe(c));
    const s = startCli(['at', '--mock']);
    cleanups.push(() => s.kill());
    // Single-link mode: the echo comes back as raw bytes, with no header and no CR/LF.
    s.write(`AT+CSTT\nAT+CIICR\nAT+CIFSR\nAT+CIPSTART="TCP","127.0.0.1",${port}\n`);
    await s.waitFor(/^CONNECT OK$/m, 'no CONNECT OK');
    s.write('AT+CIPSEND=5\nhello\n');
    await s.waitFor(/^hello {2}<- partial line \(no CR\/LF yet\)$/m, 'the echoed hello was not shown');
    // What comes next is shown on its own; the console is in step.
    s.write('ATI\n');
    await s.waitFor(/^AirM2M_780E_V1171_LTE_AT\nOK$/m, 'no ATI answer after the partial line');
    s.end();
    expect(await s.exited, s.stderr).toBe(0);
  }, 60_000);
});

describe('ws', () => {
  it('text mode refuses a line that is not UTF-8 (one line on stderr) and sends the next', async () => {
    const srv = await server();
    const r = await runCliBytes(
      ['ws', '--mock', '--linger', '300', srv.url('/t')],
      Buffer.from('\xff\xfe\nok\n', 'latin1'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')).toContain(
      'input line 1 not sent: it is not UTF-8 text (--binary sends bytes as they are)',
    );
    expect(srv.connections[0]!.messages.map((m) => m.data.toString('latin1'))).toEqual(['ok']);
    expect(r.stdout.toString()).toBe('ok\n');
  }, 60_000);

  it('Ctrl-C closes cleanly (1000), then exits 130, as --help says', async () => {
    const srv = await server();
    const help = await runCli(['ws', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      'Exit status 0 after a clean close, 1 if the connection failed or closed uncleanly, 130 after Ctrl-C.',
    );

    const child = spawn(process.execPath, [MAIN, 'ws', '--mock', srv.url('/c')], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await srv.until(() => srv.connections.length === 1 && /connected to/.test(stderr), 'connected', 30_000);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    const lines = stderr.split('\n');
    expect(lines).toContain('closing (Ctrl-C)');
    expect(lines).toContain('closed: 1000');
  }, 60_000);
});
