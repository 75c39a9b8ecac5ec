/**
 * The HTTP proxy: `CONNECT host:port` tunnels, and absolute-URI `http://` requests forwarded
 * (hop-by-hop headers removed, `Via` added, keep-alive to the client). Request heads are parsed by
 * Node's HTTP server (llhttp): oversized heads get 431, malformed ones (CR/LF in the target, bad
 * framing) 400, slow ones are closed after `handshakeTimeoutMs`.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { clientAddress, logRefusal, startTunnel, type ProxyContext } from './context.js';
import { basicMatches } from './credentials.js';
import { failureKind, openUpstream, type FailureKind } from './upstream.js';

const debug = createDebug('air780:serve:http');

/** Largest request head accepted (bytes); a longer one gets 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** The `Via` token this proxy adds (RFC 9110 §7.6.3). */
const VIA = '1.1 air780';

/** The status for a failed connect, with the reason shown in the body. */
export const HTTP_STATUS_FOR: Record<FailureKind, { status: number; reason: string }> = {
  refused: { status: 502, reason: 'the destination refused the connection (through the module)' },
  unresolved: { status: 502, reason: 'the module could not resolve the host name' },
  timeout: { status: 504, reason: 'the destination did not answer in time (through the module)' },
  'not-ready': { status: 503, reason: 'no module is online; retry once it is back' },
  'queue-full': { status: 503, reason: 'too many connections wait for a module link; retry later' },
  'queue-timeout': { status: 503, reason: 'no module link became free in time; retry later' },
  'address-type': { status: 502, reason: 'the module cannot reach IPv6 destinations' },
  other: { status: 502, reason: 'the connection through the module failed' },
};

/** Headers that apply to one hop only (RFC 9110 §7.6.1), never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Raw header pairs without hop-by-hop ones, nor those the `Connection` header names. */
export function endToEndHeaders(raw: readonly string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection')
      for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** `host:port` of a CONNECT target; IPv6 in brackets. Undefined when malformed. */
export function parseAuthority(target: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

function sendError(res: http.ServerResponse, status: number, reason: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const body = `${status} ${http.STATUS_CODES[status] ?? ''}: ${reason}\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Via: VIA,
    ...extra,
  });
  res.end(body);
}

/** A raw-socket answer for CONNECT (there is no ServerResponse for it). */
function socketError(socket: Duplex, status: number, reason: string, extra: string[] = []): void {
  const body = `${status} ${http.STATUS_CODES[status] ?? ''}: ${reason}\n`;
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `Via: ${VIA}`,
    'Connection: close',
    ...extra,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 2000).unref();
}

const PROXY_AUTHENTICATE = 'Basic realm="air780", charset="UTF-8"';

/** Starts the HTTP proxy on `host:port` (port 0: any free one). */
export async function listenHttpProxy(ctx: ProxyContext, host: string, port: number): Promise<http.Server> {
  const server = http.createServer({
    maxHeaderSize: MAX_HEAD_BYTES,
    headersTimeout: ctx.handshakeTimeoutMs,
    requestTimeout: 0,
    // Node checks the head deadline on this interval (default 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(ctx.handshakeTimeoutMs / 4))),
    keepAliveTimeout: 5000,
  });
  const authorised = (req: http.IncomingMessage): boolean =>
    !ctx.auth || basicMatches(ctx.auth, req.headers['proxy-authorization']);

  server.on('connection', (socket: net.Socket) => {
    ctx.open.add(socket);
    socket.once('close', () => ctx.open.delete(socket));
  });

  server.on('request', (req, res) => {
    forward(ctx, req, res, authorised(req)).catch((err: Error) => {
      debug('http: forward failed: %s', err.message);
      sendError(res, 502, 'the request could not be forwarded');
    });
  });

  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const client = socket as net.Socket;
    const started = Date.now();
    const who = clientAddress(client);
    client.on('error', (err) => debug('http %s: %s', who, err.message));
    if (!authorised(req))
      return socketError(client, 407, 'proxy credentials required', [`Proxy-Authenticate: ${PROXY_AUTHENTICATE}`]);
    const dest = parseAuthority(req.url ?? '');
    if (!dest) return socketError(client, 400, 'CONNECT needs host:port');
    const destination = `${dest.host}:${dest.port}`;
    const meta = { proxy: 'connect' as const, client: who, destination, started };
    const gone = new AbortController();
    const onGone = (): void => gone.abort(new Error('the client closed the connection'));
    client.once('close', onGone);
    client.pause();
    openUpstream(ctx.pool, dest, { signal: AbortSignal.any([gone.signal, ctx.shutdown]) }).then(
      (upstream) => {
        client.off('close', onGone);
        if (client.destroyed) return void upstream.socket.destroy();
        client.write(`HTTP/1.1 200 Connection Established\r\nVia: ${VIA}\r\n\r\n`);
        if (head.length > 0) client.unshift(head);
        startTunnel(ctx, client, upstream, meta);
        client.resume();
      },
      (err: unknown) => {
        client.off('close', onGone);
        const kind = failureKind(err);
        debug('http CONNECT %s → %s: %s (%s)', who, destination, kind, (err as Error).message);
        logRefusal(ctx, meta, kind, (err as { code?: string }).code);
        if (!client.destroyed) socketError(client, HTTP_STATUS_FOR[kind].status, HTTP_STATUS_FOR[kind].reason);
      },
    );
  });

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    debug('http: bad request head (%s)', err.code ?? err.message);
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socketError(socket, status, status === 431 ? `request head over ${MAX_HEAD_BYTES} bytes` : 'malformed request');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => debug('http listener: %s', err.message));
  return server;
}

/** An absolute-URI `http://` request, forwarded over one module link. */
async function forward(
  ctx: ProxyContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  authorised: boolean,
): Promise<void> {
  const started = Date.now();
  const who = clientAddress(req.socket);
  if (!authorised)
    return sendError(res, 407, 'proxy credentials required', { 'Proxy-Authenticate': PROXY_AUTHENTICATE });
  // WHATWG URL parsing silently drops CR, LF and tabs; a target carrying them is refused instead.
  if (/[\x00-\x20\x7f]/.test(req.url ?? ''))
    return sendError(res, 400, 'control characters or spaces in the request target');
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    return sendError(res, 400, 'this is a proxy: send an absolute http:// URI, or CONNECT host:port');
  }
  if (url.protocol !== 'http:')
    return sendError(res, 400, `only http:// is forwarded; use CONNECT for ${url.protocol}//`);
  const port = url.port ? Number(url.port) : 80;
  const destination = `${url.hostname}:${port}`;
  const meta = { proxy: 'http' as const, client: who, destination, started };
  const gone = new AbortController();
  const onGone = (): void => gone.abort(new Error('the client closed the connection'));
  res.once('close', onGone);
  let upstream: Awaited<ReturnType<typeof openUpstream>>;
  try {
    upstream = await openUpstream(
      ctx.pool,
      { host: url.hostname, port },
      { signal: AbortSignal.any([gone.signal, ctx.shutdown]) },
    );
  } catch (err) {
    res.off('close', onGone);
    const kind = failureKind(err);
    debug('http %s → %s: %s (%s)', who, destination, kind, (err as Error).message);
    logRefusal(ctx, meta, kind, (err as { code?: string }).code);
    return sendError(res, HTTP_STATUS_FOR[kind].status, HTTP_STATUS_FOR[kind].reason);
  }
  res.off('close', onGone);
  const link = upstream.socket;
  let up = 0;
  let down = 0;
  let ended = 'closed';
  let error: string | undefined;
  const headers = endToEndHeaders(req.rawHeaders);
  const hasHost = headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host');
  // One link per request: the module's 6 links are the scarce resource, not connect time.
  headers.push('Via', req.headers.via ? `${req.headers.via}, ${VIA}` : VIA, 'Connection', 'close');
  if (!hasHost) headers.push('Host', url.host);
  const out = http.request({
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers,
    createConnection: () => link as unknown as net.Socket,
    setHost: false,
  });
  const idle =
    ctx.idleTimeoutMs > 0
      ? setTimeout(() => {
          ended = 'idle';
          link.destroy();
        }, ctx.idleTimeoutMs)
      : undefined;
  const touch = (): void => void idle?.refresh();
  req.on('data', (d: Buffer) => {
    up += d.length;
    touch();
  });
  const handle = {
    destroy: () => {
      ended = 'shutdown';
      link.destroy();
      res.destroy();
    },
  };
  ctx.open.add(handle);
  out.on('response', (upRes) => {
    const resHeaders = endToEndHeaders(upRes.rawHeaders).filter(
      (_, i, a) =>
        !(i % 2 === 0 && a[i]!.toLowerCase() === 'via') && !(i % 2 === 1 && a[i - 1]!.toLowerCase() === 'via'),
    );
    resHeaders.push('Via', upRes.headers.via ? `${upRes.headers.via}, ${VIA}` : VIA);
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, resHeaders);
    upRes.on('data', (d: Buffer) => {
      down += d.length;
      touch();
    });
    upRes.pipe(res);
    upRes.on('error', () => res.destroy());
  });
  out.on('error', (err: Error & { code?: string }) => {
    if (ended === 'closed') ended = 'upstream-reset';
    error ??= err.code;
    debug('http %s → %s: %s', who, destination, err.message);
    if (!res.headersSent) sendError(res, 502, 'the destination closed or reset the connection (through the module)');
    else res.destroy();
  });
  req.pipe(out);
  res.once('close', () => {
    if (idle) clearTimeout(idle);
    ctx.open.delete(handle);
    if (!res.writableFinished && ended === 'closed') ended = 'client-reset';
    link.destroy();
    ctx.log.write({
      time: new Date().toISOString(),
      proxy: 'http',
      client: who,
      destination,
      module: upstream.module.name,
      up,
      down,
      durationMs: Date.now() - started,
      ended,
      ...(error ? { error } : {}),
    });
  });
}
