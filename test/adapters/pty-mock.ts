import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Modem } from '../../src/index.js';
import { ensureBuilt, MAIN, ROOT } from '../cli/build.js';
import { defer, FAST } from '../integration/helpers.js';

/** The simulated line of the pty cases: the module's usual UART rate and a little latency. */
export const PTY_BAUD = 115200;
export const PTY_LATENCY_MS = 2;

export interface PtyMock {
  modem: Modem;
  /** Sends a fault line to the mock process (`reboot`, `close 0`, …; see `air780 mock`). */
  fault(spec: string): void;
  readonly stderr: string;
}

/**
 * `air780 mock --link` in its own process behind a pty at 115200 baud / 2 ms latency, and a Modem
 * on it through serialport, both stopped after the test. Call `ensureBuilt` in a `beforeAll`.
 */
export async function openPtyModem(rxMode: 'push' | 'pull' = 'push'): Promise<PtyMock> {
  await ensureBuilt();
  const path = join(mkdtempSync(join(tmpdir(), 'air780-adapters-')), 'tty');
  const child = spawn(
    process.execPath,
    [MAIN, 'mock', '--link', path, '--baud', String(PTY_BAUD), '--latency', String(PTY_LATENCY_MS)],
    {
      cwd: ROOT,
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  defer(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock did not start within 15 s: ${stderr}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('mock: ready on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock exited with ${code}: ${stderr.trim()}`));
    });
  });
  const modem = await Modem.open({ path, baudRate: PTY_BAUD, ...FAST, rxMode });
  defer(() => modem.close());
  return {
    modem,
    fault: (spec) => void child.stdin!.write(`${spec}\n`),
    get stderr() {
      return stderr;
    },
  };
}
