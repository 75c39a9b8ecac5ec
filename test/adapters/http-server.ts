import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A loopback HTTP(S) server for the adapter tests. */
export interface HttpTestServer {
  port: number;
  url: string;
  /** The body GET /blob serves (1 MiB), and its SHA-256. */
  blob: Buffer;
  /** SHA-256 of each body POST /upload received, in order. */
  uploads: string[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests served so far. */
  requests: number;
  close(): Promise<void>;
}

/**
 * Routes: GET /blob (1 MiB, `x-sha256` header; `?bytes=N` the first N), POST /upload (answers the body's SHA-256 and its
 * length), GET /hello, GET /redirect/<n> (302 chain ending at /hello), GET /slow (headers, 1 KiB,
 * then nothing: for faults), GET /json. `tls`: https with that certificate.
 */
export async function startHttpServer(tls?: { cert: string; key: string }): Promise<HttpTestServer> {
  const blob = randomBytes(1024 * 1024);
  const sockets = new Set<Socket>();
  const state = { uploads: [] as string[], connections: 0, requests: 0 };
  const handler: http.RequestListener = (req, res) => {
    state.requests++;
    const url = req.url ?? '/';
    if (req.method === 'GET' && (url === '/blob' || url.startsWith('/blob?bytes='))) {
      const body = url === '/blob' ? blob : blob.subarray(0, Number(url.slice('/blob?bytes='.length)));
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        'x-sha256': sha256(body),
      });
      res.end(body);
    } else if (req.method === 'POST' && url === '/upload') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => {
        const digest = h.digest('hex');
        state.uploads.push(digest);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sha256: digest, length: n }));
      });
    } else if (url.startsWith('/redirect/')) {
      const n = Number(url.slice('/redirect/'.length));
      res.writeHead(302, { location: n > 1 ? `/redirect/${n - 1}` : '/hello' });
      res.end();
    } else if (url === '/slow') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1024 * 1024 });
      res.write(Buffer.alloc(1024, 1));
    } else if (url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, via: 'module' }));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello');
    }
  };
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (tls) server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${tls ? 'https' : 'http'}://localhost:${port}`,
    blob,
    get uploads() {
      return state.uploads;
    },
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The response body and head of `http(s).request`, or its error. */
export function request(
  mod: typeof http | typeof https,
  url: string,
  options: https.RequestOptions,
  body?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = mod.request(url, options, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          reused: req.reusedSocket,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
