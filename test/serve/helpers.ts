/** Shared set-up of the serve tests: mock modules, the proxies in-process, real clients. */
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import type { MockModemOptions } from '../../src/mock/index.js';
import { startProxies, type PoolModule, type RunningProxies, type ServeOptions } from '../../src/serve/index.js';
import type { Modem, ModemOpenOptions } from '../../src/modem/index.js';
import { defer, openModem } from '../integration/helpers.js';
import type { MockModem } from '../../src/mock/index.js';

export interface Bed {
  proxies: RunningProxies;
  mocks: MockModem[];
  modems: Modem[];
  socksPort: number;
  httpPort: number;
}

/** `n` mock modules (pull mode unless told) and both proxies on ephemeral loopback ports. */
export async function startBed(
  options: { modules?: number; rxMode?: 'push' | 'pull'; mock?: MockModemOptions; modem?: ModemOpenOptions } & Omit<
    ServeOptions,
    'modules' | 'socks' | 'http'
  > = {},
): Promise<Bed> {
  const { modules = 1, rxMode = 'pull', mock, modem, ...rest } = options;
  const mocks: MockModem[] = [];
  const modems: Modem[] = [];
  const pool: PoolModule[] = [];
  for (let i = 0; i < modules; i++) {
    const m = await openModem({ rxMode, ...(mock ? { mock } : {}), ...(modem ? { modem } : {}) });
    mocks.push(m.mock);
    modems.push(m.modem);
    pool.push({ name: `mock${i}`, modem: m.modem });
  }
  const proxies = await startProxies({
    modules: pool,
    socks: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    ...rest,
  });
  defer(() => proxies.close());
  return { proxies, mocks, modems, socksPort: proxies.socks!.port, httpPort: proxies.http!.port };
}

export interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program to completion (stdout as bytes), bounded by `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  options: { input?: Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? Buffer.alloc(0));
  });
}

/** Debian's curl, never a proxy from the environment. */
export function curl(args: string[], options: { input?: Buffer; timeoutMs?: number } = {}): Promise<Run> {
  return run('curl', ['-sS', '--noproxy', '', ...args], {
    ...options,
    env: {
      http_proxy: '',
      https_proxy: '',
      HTTP_PROXY: '',
      HTTPS_PROXY: '',
      ALL_PROXY: '',
      all_proxy: '',
      NO_PROXY: '',
    },
  });
}

/** Debian's python3 (its python3-socks package is installed there). */
export const PYTHON = '/usr/bin/python3';

/** A raw TCP client that collects everything the server sends until it closes. */
export interface RawClient {
  socket: net.Socket;
  received(): Buffer;
  /** Resolves once the server closed (or reset) the connection, with what it sent. */
  closed: Promise<{ data: Buffer; error?: string }>;
}

export function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('error', (e: Error & { code?: string }) => (error = e.code ?? e.message));
    const closed = new Promise<{ data: Buffer; error?: string }>((r) =>
      socket.once('close', () => r({ data: Buffer.concat(parts), ...(error ? { error } : {}) })),
    );
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(parts), closed }));
    socket.once('error', reject);
  });
}

/** Resolves once `socket` has received at least `n` bytes (all of them), or rejects after `ms`. */
export function readBytes(socket: net.Socket, n: number, ms = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`got ${got} of ${n} bytes within ${ms} ms`)), ms);
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    socket.on('data', onData);
  });
}

export { execFile };
