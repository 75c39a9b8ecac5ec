/** `air780 serve` as a user runs it: the built command in its own process, stopped after the test. */
import { spawn } from 'node:child_process';
import { MAIN, ROOT } from '../cli/build.js';
import { defer } from '../integration/helpers.js';

export interface ServeProcess {
  pid: number;
  socksPort: number;
  httpPort: number;
  /** The status server's port (0 when `--status off`). */
  statusPort: number;
  readonly stderr: string;
  /** A stdin line (fault injection with --mock: `1 reboot`). */
  write(line: string): void;
  signal(sig: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
  /** Resolves once stderr matches. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}, readyMs = 30_000): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--socks', '127.0.0.1:0', '--http-proxy', '127.0.0.1:0', '--status', '127.0.0.1:0', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, AIR780_PORT: '', AIR780_PROXY_AUTH: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on('data', () => {});
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const waitFor = (re: RegExp, ms = 20_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const t0 = Date.now();
      const tick = (): void => {
        if (re.test(stderr)) return resolve();
        if (child.exitCode !== null || Date.now() - t0 > ms)
          return reject(
            new Error(
              `serve: no ${re} (${child.exitCode !== null ? `exited ${child.exitCode}` : `${ms} ms`})\n${stderr}`,
            ),
          );
        setTimeout(tick, 20);
      };
      tick();
    });
  await waitFor(/serve: ready /, readyMs);
  const m =
    /serve: ready socks=(?:127\.0\.0\.1:(\d+)|off) http=(?:127\.0\.0\.1:(\d+)|off) status=(?:[\d.]+:(\d+)|off)/.exec(
      stderr,
    )!;
  return {
    pid: child.pid!,
    socksPort: Number(m[1] ?? 0),
    httpPort: Number(m[2] ?? 0),
    statusPort: Number(m[3] ?? 0),
    get stderr() {
      return stderr;
    },
    write: (line) => void child.stdin.write(`${line}\n`),
    signal: (sig) => void child.kill(sig),
    exited,
    waitFor,
  };
}
