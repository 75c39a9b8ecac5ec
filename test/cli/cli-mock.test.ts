import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, ROOT } from './build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

function waitFor(get: () => string, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (pattern.test(get())) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`${what}: ${JSON.stringify(get())}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('air780 mock --link', () => {
  it('serves the mock on a pty another process opens with serialport; stdin faults; SIGTERM removes the link', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'air780-cli-mock-')), 'tty');
    const child = spawn(process.execPath, [MAIN, 'mock', '--link', link, '-v'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(() => stderr, /mock: ready on /, 15_000, 'mock never said ready');
      expect(existsSync(link)).toBe(true);

      const port = new SerialPort({ path: link, baudRate: 115200 });
      port.on('error', () => {});
      let rx = '';
      port.on('data', (d: Buffer) => (rx += d.toString('latin1')));
      await new Promise<void>((res, rej) => port.once('open', () => res()).once('error', rej));
      port.write('ATE0\r');
      await waitFor(() => rx, /OK\r\n/, 10_000, 'no OK to ATE0');
      rx = '';
      port.write('AT+CGSN\r');
      await waitFor(() => rx, /359759002514931\r\n\r\nOK\r\n/, 10_000, 'no IMEI');
      // -v shows the traffic on stderr.
      await waitFor(() => stderr, /> AT\+CGSN/, 5000, 'traffic not shown');

      // A fault from stdin: the module reboots and says RDY on the line.
      rx = '';
      child.stdin.write('reboot\n');
      await waitFor(() => rx, /RDY/, 10_000, 'no RDY after reboot');
      child.stdin.write('bogus-fault\n');
      await waitFor(() => stderr, /mock: .*bogus-fault/, 5000, 'bad fault not reported');
      await new Promise<void>((r) => port.close(() => r()));

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(link)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('stdin "reboot cut" stops what the module was writing at once; plain "reboot" lets it finish', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'air780-cli-mock-')), 'tty');
    // 9600 baud: 2000 bytes take about 2 s on the line, so a reboot lands while they are going out.
    const child = spawn(process.execPath, [MAIN, 'mock', '--link', link, '--baud', '9600'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(() => stderr, /mock: ready on /, 15_000, 'mock never said ready');
      const port = new SerialPort({ path: link, baudRate: 9600 });
      port.on('error', () => {});
      let rx = Buffer.alloc(0);
      port.on('data', (d: Buffer) => (rx = Buffer.concat([rx, d])));
      await new Promise<void>((res, rej) => port.once('open', () => res()).once('error', rej));
      const text = () => rx.toString('latin1');
      const beforeRdy = async (fault: string): Promise<number> => {
        rx = Buffer.alloc(0);
        child.stdin.write('noise 2000\n');
        await waitFor(() => String(rx.length), /^[1-9]\d*$/, 10_000, 'no noise on the line');
        child.stdin.write(`${fault}\n`);
        await waitFor(text, /\r\nRDY\r\n[\s\S]*\+NITZ: [^\r]*\r\n/, 15_000, `no RDY and boot URCs after ${fault}`);
        return text().indexOf('\r\nRDY\r\n');
      };
      expect(await beforeRdy('reboot cut 200')).toBeLessThan(2000);
      expect(await beforeRdy('reboot 200')).toBe(2000);
      await new Promise<void>((r) => port.close(() => r()));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('--link is required (usage error, exit 2)', async () => {
    const child = spawn(process.execPath, [MAIN, 'mock'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('--link PATH is required');
  });
});
