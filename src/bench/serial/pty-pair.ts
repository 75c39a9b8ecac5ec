import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Air780Error } from '../../at/errors.js';

/** Two linked pseudo-terminals made by socat: bytes written to one end are read from the other. */
export interface PtyPair {
  /** Path (a symlink to /dev/pts/N) of one end. */
  readonly a: string;
  /** Path of the other end. */
  readonly b: string;
  /** The socat process; killing it makes both ends hang up. */
  readonly process: ChildProcess;
  /** Stop socat (both ends hang up) and remove the links. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B` and resolve once it relays
 * (its stderr says `starting data transfer loop`). Needs the Debian package `socat`.
 */
export async function openPtyPair(options: { timeoutMs?: number } = {}): Promise<PtyPair> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'air780-pty-'));
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Air780Error('ERR_PTY', `socat did not start within ${timeoutMs} ms: ${stderr.slice(-500)}`)),
        timeoutMs,
      );
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(
          new Air780Error('ERR_PTY', `cannot run socat (${err.message}); install the Debian package socat`, {
            cause: err,
          }),
        );
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Air780Error('ERR_PTY', `socat exited (${code ?? signal}) before relaying: ${stderr.slice(-500)}`));
      });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 16_384) stderr += d;
        if (stderr.includes('starting data transfer loop')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  child.removeAllListeners('exit');
  let closing: Promise<void> | undefined;
  return {
    a,
    b,
    process: child,
    close() {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
          await exited;
          clearTimeout(killer);
        }
        await fsp.rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
