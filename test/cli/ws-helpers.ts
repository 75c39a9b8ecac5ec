/**
 * A websocket server on 127.0.0.1 (plain or TLS) that records what a spawned `air780 ws` did to
 * it: the handshake headers, the negotiated extensions, every message with its type and SHA-256,
 * and every ping. Tests wait on these records instead of sleeping. Also: a byte-exact runCli.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAIN, ROOT } from './build.js';

export interface SeenMessage {
  data: Buffer;
  binary: boolean;
  sha256: string;
}

export interface SeenConnection {
  ws: WebSocket;
  headers: IncomingHttpHeaders;
  /** Negotiated extensions as the server's `ws` sees them ('' when none). */
  extensions: string;
  messages: SeenMessage[];
  pings: number;
}

export interface RecordingServer {
  port: number;
  /** `ws://127.0.0.1:PORT/path` or, with TLS, `wss://localhost:PORT/path` (the name the certificate carries). */
  url(path?: string): string;
  connections: SeenConnection[];
  /** Resolves once `test()` holds; rejects after `timeoutMs` naming `what`. */
  until(test: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface RecordingServerOptions {
  tls?: { cert: string; key: string };
  /** Offer-acceptance of permessage-deflate on the server side (the `ws` default is off). */
  perMessageDeflate?: boolean;
  /** Send every message straight back with its type (default true). */
  echo?: boolean;
  /** Called once a connection is recorded. */
  onConnection?(c: SeenConnection): void;
}

export async function startRecordingServer(options: RecordingServerOptions = {}): Promise<RecordingServer> {
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key })
    : http.createServer();
  // A client that fails verification aborts the TLS handshake: not an error of the server's.
  server.on('tlsClientError', () => {});
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxPayload: 16 * 1024 * 1024,
  });
  const connections: SeenConnection[] = [];
  wss.on('connection', (ws, req) => {
    const c: SeenConnection = { ws, headers: req.headers, extensions: ws.extensions, messages: [], pings: 0 };
    connections.push(c);
    ws.on('error', () => {});
    ws.on('ping', () => c.pings++);
    ws.on('message', (data, binary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      c.messages.push({ data: buf, binary, sha256: createHash('sha256').update(buf).digest('hex') });
      if (options.echo ?? true) ws.send(buf, { binary });
    });
    options.onConnection?.(c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/') => (options.tls ? `wss://localhost:${port}${path}` : `ws://127.0.0.1:${port}${path}`),
    connections,
    until(test, what, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const start = Date.now();
        const tick = (): void => {
          if (test()) return resolve();
          if (Date.now() - start > timeoutMs) return reject(new Error(`${what}: not within ${timeoutMs} ms`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Like runCli, with stdin and stdout as bytes (runCli's strings would decode them as UTF-8). */
export function runCliBytes(
  args: string[],
  input: Buffer,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`air780 ${args.join(' ')} did not finish within ${timeoutMs} ms\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** The stderr lines that report the failure (the `air780:` line), without progress lines. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^(air780|error):/.test(l));
}

/** `startRecordingServer` bound to a test file's cleanup list (closed after each test). */
export function recordingServers(
  cleanups: Array<() => void | Promise<void>>,
): (options?: RecordingServerOptions) => Promise<RecordingServer> {
  return async (options = {}) => {
    const s = await startRecordingServer(options);
    cleanups.push(() => s.close());
    return s;
  };
}
