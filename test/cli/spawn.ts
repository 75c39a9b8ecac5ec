/**
 * A spawned `air780` whose stdin stays open: lines are written as the test decides, after what the
 * command printed so far — a person at a pipe rather than a file fed at once.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeAll } from 'vitest';
import { MAIN, ROOT, ensureBuilt } from './build.js';

/**
 * For a test file that spawns the built command: builds it once before the tests, and runs (last
 * first) the cleanups each test pushes, after that test. Returns the cleanup list.
 */
export function useBuiltCli(): Array<() => void | Promise<void>> {
  const cleanups: Array<() => void | Promise<void>> = [];
  beforeAll(async () => {
    await ensureBuilt();
  }, 120_000);
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return cleanups;
}

export interface CliSession {
  write(text: string): void;
  end(): void;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once stdout (or stderr with `where`) matches; rejects with both after `timeoutMs`. */
  waitFor(test: RegExp, what: string, where?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
  kill(): void;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliSession {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    write: (text) => void child.stdin.write(text),
    end: () => child.stdin.end(),
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    waitFor(test, what, where = 'stdout', timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const start = Date.now();
        const tick = (): void => {
          if (test.test(where === 'stdout' ? stdout : stderr)) return resolve();
          if (child.exitCode !== null || Date.now() - start > timeoutMs) {
            return reject(
              new Error(
                `${what}: ${child.exitCode !== null ? `exited ${child.exitCode}` : `not within ${timeoutMs} ms`}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
              ),
            );
          }
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
