/**
 * Builds dist/ once per vitest run before the CLI is spawned, so tests never run a stale build.
 * Several test files call this at once (vitest runs files in parallel): a lock directory lets one
 * build while the others wait, and a stamp named after the vitest process marks the run as built.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(ROOT, 'dist/cli/main.js');
const CACHE = join(ROOT, 'node_modules/.cache/air780-cli-test');

async function acquire(lock: string, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch {
      if (Date.now() - start > timeoutMs) throw new Error(`build lock ${lock} held for over ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function ensureBuilt(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const stamp = join(CACHE, `built-${process.ppid}`);
  if (existsSync(stamp)) return;
  const lock = join(CACHE, 'lock');
  await acquire(lock, 120_000);
  try {
    if (existsSync(stamp)) return;
    try {
      await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT });
    } catch (err) {
      // tsc still emits on type errors. Errors in the CLI's own files fail the tests; errors in
      // files other engineers are editing right now are reported but do not block.
      const out = String((err as { stdout?: string }).stdout ?? err);
      if (/src\/(cli|bench)\//.test(out) || !existsSync(MAIN)) throw new Error(`build failed:\n${out}`);
      console.warn(`tsc reported errors outside src/cli and src/bench:\n${out}`);
    }
    writeFileSync(stamp, `${Date.now()}\n`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/main.js ...args` to completion, with optional stdin, bounded by `timeoutMs`. */
export function runCli(
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `air780 ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}
