import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, ROOT } from '../cli/build.js';
import { useBuiltCli } from '../cli/spawn.js';
import { startEchoServer } from '../helpers/servers.js';
import { defer, sha256 } from '../integration/helpers.js';
import { startHttpServer } from '../adapters/http-server.js';
import { PTY_BAUD, PTY_LATENCY_MS } from '../adapters/pty-mock.js';
import { curl, rawClient, readBytes } from './helpers.js';
import { spawnServe } from './spawn-serve.js';

useBuiltCli();

function socksConnect(target: number): Buffer {
  return Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 0xff]);
}

/** Echoes `n` bytes through `c`; resolves true when they came back intact, false on a reset/close. */
async function echoes(c: net.Socket, n = 2048): Promise<boolean> {
  const b = randomBytes(n);
  const back = readBytes(c, n, 10_000).then(
    (d) => d.equals(b),
    () => false,
  );
  const closed = new Promise<boolean>((r) => c.once('close', () => r(false)));
  if (c.destroyed) return false;
  c.write(b);
  return Promise.race([back, closed]);
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('air780 serve over several modules and real lines (spawned)', () => {
  it('--mock 2: connections spread over both; a reboot of one resets only its tunnels, new ones go to the other', async () => {
    const echo = await startEchoServer();
    defer(() => echo.close());
    const log = join(mkdtempSync(join(tmpdir(), 'air780-serve-')), 'log.jsonl');
    // Registration takes 3 s after a boot, so the rebooted module stays away for a while.
    const serve = await spawnServe(
      ['--mock', '2', '--log', log],
      { AIR780_MOCK_OPTIONS: '{"registrationDelayMs":3000}' },
      60_000,
    );
    expect(serve.stderr).toMatch(/modules=2/);
    const tunnels: net.Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await rawClient(serve.socksPort);
      c.socket.on('error', () => {});
      c.socket.write(socksConnect(echo.port));
      await readBytes(c.socket, 12);
      tunnels.push(c.socket);
    }
    for (const t of tunnels) expect(await echoes(t)).toBe(true);
    serve.write('1 reboot');
    await serve.waitFor(/module mock1 recovering/);
    const alive = await Promise.all(tunnels.map((t) => echoes(t)));
    // Most free links first: three tunnels on each module; the rebooted one's three were reset.
    expect(alive.filter(Boolean).length).toBe(3);
    // While mock1 is away, new connections succeed on mock0.
    const get = await curl([
      '--socks5',
      `127.0.0.1:${serve.socksPort}`,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://127.0.0.1:${echo.port}/`,
    ]);
    expect(get.code).not.toBe(97);
    const fresh = await rawClient(serve.socksPort);
    fresh.socket.write(socksConnect(echo.port));
    expect([...(await readBytes(fresh.socket, 12)).subarray(2, 4)]).toEqual([5, 0]);
    expect(await echoes(fresh.socket)).toBe(true);
    await serve.waitFor(/module mock1 online/, 30_000);
    for (const t of [...tunnels, fresh.socket]) t.destroy();
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { module?: string; ended: string; error?: string });
    expect(lines.filter((l) => l.module === 'mock1' && l.ended === 'upstream-reset').length).toBe(3);
    expect(lines.filter((l) => l.module === 'mock0').length).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('backpressure: a client reading 1 byte a second keeps the server blocked and the proxy RSS bounded', async () => {
    let pushed = 0;
    const chunk = randomBytes(64 * 1024);
    const server = net.createServer((s) => {
      s.on('error', () => {});
      const pump = (): void => {
        while (!s.destroyed && s.write(chunk)) pushed += chunk.length;
        if (!s.destroyed) {
          pushed += chunk.length;
          s.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          setTimeout(r, 500);
        }),
    );
    const serve = await spawnServe(['--mock']);
    const base = rssKiB(serve.pid);
    const c = net.connect(serve.socksPort, '127.0.0.1');
    c.on('error', () => {});
    await new Promise((r) => c.once('connect', r));
    c.write(socksConnect((server.address() as AddressInfo).port));
    c.pause();
    let read = 0;
    const samples: number[] = [];
    for (let s = 0; s < 8; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      const b = c.read(1) as Buffer | null;
      if (b) read += b.length;
      samples.push(rssKiB(serve.pid));
    }
    const pushedAfter8s = pushed;
    await new Promise((r) => setTimeout(r, 1000));
    // The server stopped being able to write: everything in flight is bounded by the socket buffers
    // (kernel, 64 KiB module receive buffer, 64 KiB stream buffers), not by what it wanted to send.
    expect(pushed).toBe(pushedAfter8s);
    expect(pushed).toBeLessThan(16 * 1024 * 1024);
    // Flat once the buffers are full (a first-second step of ~40 MB is the heap growing while they fill).
    expect(Math.max(...samples.slice(2)) - samples[1]!).toBeLessThan(4 * 1024);
    expect(Math.max(...samples) - base).toBeLessThan(64 * 1024);
    expect(read).toBeGreaterThan(0);
    // Held back, not dropped: reading at full speed again, the same tunnel carries megabytes more.
    let more = 0;
    c.on('data', (d: Buffer) => (more += d.length));
    c.resume();
    const t0 = Date.now();
    while (pushed < pushedAfter8s + 4 * 1024 * 1024 && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 100));
    expect(pushed).toBeGreaterThanOrEqual(pushedAfter8s + 4 * 1024 * 1024);
    expect(c.destroyed).toBe(false);
    c.destroy();
    // eslint-disable-next-line no-console
    console.log(
      `backpressure: server pushed ${pushed} bytes, client read ${read}; serve RSS KiB ${base} then ${samples.join(' ')}`,
    );
  }, 60_000);

  it(`through the mock on a pty at ${PTY_BAUD} baud / ${PTY_LATENCY_MS} ms: curl SOCKS and HTTP, 64 KiB each way, SHA-256`, async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'air780-serve-pty-')), 'tty');
    const mock = spawn(
      process.execPath,
      [MAIN, 'mock', '--link', path, '--baud', String(PTY_BAUD), '--latency', String(PTY_LATENCY_MS)],
      { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let mockErr = '';
    mock.stderr.on('data', (d: Buffer) => (mockErr += d.toString()));
    defer(
      () =>
        new Promise<void>((r) => {
          if (mock.exitCode !== null) return r();
          mock.once('exit', () => r());
          mock.kill('SIGTERM');
        }),
    );
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (mockErr.includes('mock: ready on')) {
          clearInterval(t);
          resolve();
        }
        if (mock.exitCode !== null) {
          clearInterval(t);
          reject(new Error(mockErr));
        }
      }, 20);
    });
    const web = await startHttpServer();
    defer(() => web.close());
    const serve = await spawnServe(['--port', path, '--baud', String(PTY_BAUD)], {}, 60_000);
    const n = 64 * 1024;
    const want = sha256(web.blob.subarray(0, n));
    const socksGet = await curl(
      ['--socks5-hostname', `127.0.0.1:${serve.socksPort}`, `http://localhost:${web.port}/blob?bytes=${n}`],
      { timeoutMs: 90_000 },
    );
    expect(socksGet.stderr).toBe('');
    expect(sha256(socksGet.stdout)).toBe(want);
    const body = randomBytes(n);
    const httpPost = await curl(
      ['-x', `http://127.0.0.1:${serve.httpPort}`, '--data-binary', '@-', `http://localhost:${web.port}/upload`],
      { input: body, timeoutMs: 90_000 },
    );
    expect(JSON.parse(httpPost.stdout.toString())).toEqual({ sha256: sha256(body), length: n });
    const socksPost = await curl(
      [
        '--socks5-hostname',
        `127.0.0.1:${serve.socksPort}`,
        '--data-binary',
        '@-',
        `http://localhost:${web.port}/upload`,
      ],
      { input: body, timeoutMs: 90_000 },
    );
    expect(JSON.parse(socksPost.stdout.toString())).toEqual({ sha256: sha256(body), length: n });
    const httpGet = await curl(
      ['-x', `http://127.0.0.1:${serve.httpPort}`, `http://localhost:${web.port}/blob?bytes=${n}`],
      { timeoutMs: 90_000 },
    );
    expect(sha256(httpGet.stdout)).toBe(want);
    serve.signal('SIGINT');
    expect(await serve.exited).toBe(0);
  }, 180_000);
});
