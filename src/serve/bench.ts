/**
 * Benchmark of the proxies: a 1 MB HTTP download and upload with Debian's `curl` through each proxy
 * (SOCKS5, HTTP forward), as a fraction of the same request over a raw module socket on the same
 * modem in the same run; and six parallel downloads through SOCKS5 (aggregate over the line rate).
 * For `npm run bench` (src/bench wires it in); needs `curl` on PATH.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Modem } from '../modem/index.js';
import { startProxies } from './server.js';

export interface ServeBenchResult {
  /** `raw` (module socket, no proxy), `socks`, `http` (forward proxy), `socks-x6` (six parallel). */
  path: 'raw' | 'socks' | 'http' | 'socks-x6';
  direction: 'up' | 'down';
  bytes: number;
  seconds: number;
  bytesPerSec: number;
  /** bytesPerSec over the raw socket's in the same run (null for raw and socks-x6). */
  ofRaw: number | null;
  /** bytesPerSec over the line rate (baud / 10). */
  ofLine: number;
}

async function startBlobServer(bytes: number): Promise<{ port: number; blob: Buffer; close(): Promise<void> }> {
  const blob = randomBytes(bytes);
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      req.on('data', (d: Buffer) => h.update(d));
      req.on('end', () => res.end(h.digest('hex')));
      return;
    }
    res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
    res.end(blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    blob,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One HTTP exchange over a raw module socket: seconds from the request's first byte to the response's last. */
async function rawExchange(
  modem: Modem,
  port: number,
  direction: 'up' | 'down',
  body: Buffer,
  bodyDown: number,
): Promise<number> {
  const s = modem.connect('127.0.0.1', port);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    let head = Buffer.alloc(0);
    let bodyGot = -1;
    s.on('data', (d: Buffer) => {
      if (bodyGot < 0) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        bodyGot = head.length - end - 4;
      } else bodyGot += d.length;
      if (bodyGot >= bodyDown) resolve();
    });
    if (direction === 'down') s.write('GET /blob HTTP/1.1\r\nHost: bench\r\n\r\n');
    else
      s.write(
        Buffer.concat([
          Buffer.from(`POST /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: ${body.length}\r\n\r\n`),
          body,
        ]),
      );
  });
  const seconds = (performance.now() - start) / 1000;
  s.destroy();
  return seconds;
}

function curl(args: string[], input: Buffer | undefined, timeoutMs: number): Promise<{ seconds: number; out: Buffer }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('curl', ['-sS', '--noproxy', '', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(t);
      if (code !== 0) return reject(new Error(`curl ${args.join(' ')}: exit ${code}: ${err.trim()}`));
      resolve({ seconds: (performance.now() - start) / 1000, out: Buffer.concat(out) });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** Runs the proxy benchmark on `modem` (opened on a throttled line of `baud`). */
export async function benchServe(
  modem: Modem,
  options: {
    baud: number;
    bytes: number;
    /** Size of each of the six parallel downloads (default `bytes`). */
    parallelBytes?: number;
    log?: (line: string) => void;
    timeoutMs?: number;
  },
): Promise<ServeBenchResult[]> {
  const { baud, bytes } = options;
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? Math.max(60_000, (bytes / (baud / 10)) * 3000);
  const line = baud / 10;
  const parallelBytes = options.parallelBytes ?? bytes;
  const web = await startBlobServer(bytes);
  const small = parallelBytes === bytes ? web : await startBlobServer(parallelBytes);
  const proxies = await startProxies({
    modules: [{ name: 'bench', modem }],
    socks: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
  });
  const results: ServeBenchResult[] = [];
  const add = (
    path: ServeBenchResult['path'],
    direction: 'up' | 'down',
    n: number,
    seconds: number,
    raw: number | undefined,
  ): void => {
    const bytesPerSec = n / seconds;
    results.push({
      path,
      direction,
      bytes: n,
      seconds,
      bytesPerSec,
      ofRaw: raw ? bytesPerSec / raw : null,
      ofLine: bytesPerSec / line,
    });
    log(
      `  serve ${baud} ${path} ${direction}: ${(bytesPerSec / 1024).toFixed(1)} KiB/s, ${(bytesPerSec / line).toFixed(3)} of line${raw ? `, ${(bytesPerSec / raw).toFixed(3)} of the raw socket` : ''}`,
    );
  };
  try {
    const upload = randomBytes(bytes);
    const rawDown = bytes / (await rawExchange(modem, web.port, 'down', upload, bytes));
    add('raw', 'down', bytes, bytes / rawDown, undefined);
    const rawUp = bytes / (await rawExchange(modem, web.port, 'up', upload, 64));
    add('raw', 'up', bytes, bytes / rawUp, undefined);
    const via = {
      socks: ['--socks5-hostname', `127.0.0.1:${proxies.socks!.port}`],
      http: ['-x', `http://127.0.0.1:${proxies.http!.port}`],
    } as const;
    for (const path of ['socks', 'http'] as const) {
      const down = await curl([...via[path], `http://127.0.0.1:${web.port}/blob`], undefined, timeoutMs);
      if (!down.out.equals(web.blob)) throw new Error(`serve bench: ${path} download corrupted`);
      add(path, 'down', bytes, down.seconds, rawDown);
      const up = await curl(
        [...via[path], '--data-binary', '@-', '-H', 'Expect:', `http://127.0.0.1:${web.port}/upload`],
        upload,
        timeoutMs,
      );
      if (up.out.toString() !== createHash('sha256').update(upload).digest('hex'))
        throw new Error(`serve bench: ${path} upload corrupted`);
      add(path, 'up', bytes, up.seconds, rawUp);
    }
    // Six links at once on one module: how much of the line the proxy keeps busy.
    const start = performance.now();
    const six = await Promise.all(
      Array.from({ length: 6 }, () =>
        curl([...via.socks, `http://127.0.0.1:${small.port}/blob`], undefined, timeoutMs * 6),
      ),
    );
    if (!six.every((r) => r.out.equals(small.blob))) throw new Error('serve bench: a parallel download was corrupted');
    add('socks-x6', 'down', parallelBytes * 6, (performance.now() - start) / 1000, undefined);
  } finally {
    await proxies.close();
    await web.close();
    if (small !== web) await small.close();
  }
  return results;
}
