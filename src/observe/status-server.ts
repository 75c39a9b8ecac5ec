/**
 * The status HTTP server: `/` (a live page: static HTML/CSS/JS shipped in the package),
 * `/status.json` (the same data for scripts), `/events` (server-sent events the page listens to)
 * and `/metrics` (Prometheus, with the process's default metrics). Loopback by default; another
 * address needs credentials (HTTP Basic), since the page shows where the module's links go.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, isIPv4, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import createDebug from 'debug';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Air780Error } from '../at/errors.js';
import { registerModemMetrics } from './metrics.js';
import type { Modem } from '../modem/index.js';
import { ModemObserver, type ModemStats } from './modem-stats.js';
import type { WebSocketObserver, WebSocketStats } from './websocket-stats.js';

const debug = createDebug('air780:observe');

/** The default status address (`air780 serve --status`). */
export const DEFAULT_STATUS_HOST = '127.0.0.1';
export const DEFAULT_STATUS_PORT = 9780;

/** A status server that cannot start as asked (`ERR_STATUS_AUTH_REQUIRED`, `ERR_STATUS_BAD_OPTION`). */
export class StatusServerError extends Air780Error {}

/** Options of {@link startStatusServer}. */
export interface StatusServerOptions {
  /** The modules to show (observers, so the page and the caller can share them). */
  modules: ModemObserver[];
  /** Websocket clients to show, by a name of your choice (never derived from the URL). */
  websockets?: () => Record<string, WebSocketObserver>;
  /** Default 127.0.0.1. Anything but a loopback address needs `auth`. */
  host?: string;
  /** Default 9780; 0 picks a free port. */
  port?: number;
  /** `user:password` for HTTP Basic; then every path asks for it. */
  auth?: string;
  /** Metrics registry (default: a new one with the modules' metrics and the process defaults). */
  registry?: Registry;
  /** Live page connections (server-sent events) at once. Default 16. */
  maxEventClients?: number;
}

/** What {@link startStatusServer} returns. */
export interface StatusServer {
  /** `http://host:port/` as bound. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stop listening, end the live connections and unregister the metrics it created. */
  close(): Promise<void>;
}

/** What `/status.json` answers and each server-sent event carries. */
export interface StatusDocument {
  takenAt: number;
  modules: ModemStats[];
  websockets: Record<string, WebSocketStats>;
}

/** Unsent server-sent-event bytes one page may hold before it is dropped. */
const MAX_EVENT_BACKLOG = 1024 * 1024;

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Is `host` (a name, an IP, or `[v6]`) loopback: reachable only by programs on this machine? */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  return isIP(h) === 6 && /^(::1|0:0:0:0:0:0:0:1|::ffff:127\.[\d.]+)$/.test(h);
}

/** `HOST:PORT` (or `[v6]:PORT`, or `PORT`) → parts; the host defaults to 127.0.0.1. */
export function parseStatusAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new StatusServerError(
      'ERR_STATUS_BAD_OPTION',
      `The status address must be HOST:PORT (e.g. 127.0.0.1:${DEFAULT_STATUS_PORT}), got ${JSON.stringify(text)}.`,
    );
  }
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : DEFAULT_STATUS_HOST, port };
}

/** Start the status server; see the module comment. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const host = options.host ?? DEFAULT_STATUS_HOST;
  const auth = options.auth;
  if (auth !== undefined && !/^[^:]+:.+$/.test(auth)) {
    throw new StatusServerError(
      'ERR_STATUS_BAD_OPTION',
      'The status credentials must be USER:PASSWORD, both non-empty.',
    );
  }
  if (!isLoopback(host) && auth === undefined) {
    throw new StatusServerError(
      'ERR_STATUS_AUTH_REQUIRED',
      `The status page would be reachable from other machines on ${host}; give credentials (--auth USER:PASSWORD) or bind 127.0.0.1.`,
    );
  }
  const expected = auth === undefined ? undefined : digest(`Basic ${Buffer.from(auth, 'utf8').toString('base64')}`);
  let registry = options.registry;
  let unregister: (() => void) | undefined;
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const m = registerModemMetrics(options.modules, {
      registry,
      ...(options.websockets ? { websockets: options.websockets } : {}),
    });
    unregister = m.unregister;
  }
  const metricsRegistry = registry;
  const pageDir = await findPageDir();
  const maxClients = options.maxEventClients ?? 16;
  const clients = new Set<ServerResponse>();

  const document = (): StatusDocument => {
    const websockets: Record<string, WebSocketStats> = {};
    for (const [name, o] of Object.entries(options.websockets?.() ?? {})) websockets[name] = o.stats();
    return { takenAt: Date.now(), modules: options.modules.map((m) => m.stats()), websockets };
  };

  // Live updates: on every (throttled) 'stats' of a module, and each second for byte counters.
  let ticker: NodeJS.Timeout | undefined;
  let pending: NodeJS.Timeout | undefined;
  const push = () => {
    if (pending || clients.size === 0) return;
    pending = setTimeout(() => {
      pending = undefined;
      const frame = `event: status\ndata: ${JSON.stringify(document())}\n\n`;
      for (const res of clients) {
        // A page that stopped reading (a suspended phone, a stalled proxy) is dropped, not buffered for.
        if (res.writableLength > MAX_EVENT_BACKLOG) res.destroy();
        else res.write(frame);
      }
    }, 0);
  };
  const onStats = () => push();
  const startLive = () => {
    if (ticker) return;
    for (const m of options.modules) m.on('stats', onStats);
    ticker = setInterval(push, 1000);
    ticker.unref();
  };
  const stopLive = () => {
    if (!ticker) return;
    for (const m of options.modules) m.off('stats', onStats);
    clearInterval(ticker);
    ticker = undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    // Without credentials only a loopback Host is served: a web page elsewhere cannot read this
    // server through a name that resolves to 127.0.0.1 (DNS rebinding).
    if (expected === undefined && !isLoopback(hostOnly(req.headers.host ?? '')))
      return plain(res, 403, 'Forbidden: use a loopback address.\n');
    if (expected !== undefined) {
      const given = req.headers.authorization;
      if (!given || !timingSafeEqual(digest(given), expected)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="air780 status", charset="UTF-8"');
        return plain(res, 401, 'Credentials required.\n');
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return plain(res, 405, 'Only GET and HEAD.\n');
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const page = PAGE_FILES[path];
    if (page) {
      const body = await readFile(new URL(page.file, pageDir));
      res.writeHead(200, { 'Content-Type': page.type, 'Cache-Control': 'no-cache', 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/status.json') {
      const body = Buffer.from(`${JSON.stringify(document(), null, 2)}\n`);
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/metrics') {
      const body = Buffer.from(await metricsRegistry.metrics());
      res.writeHead(200, {
        'Content-Type': metricsRegistry.contentType,
        'Cache-Control': 'no-store',
        'Content-Length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/events') {
      if (clients.size >= maxClients)
        return plain(res, 503, `Too many live pages open (${maxClients}); close one or reload later.\n`);
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write(`retry: 2000\nevent: status\ndata: ${JSON.stringify(document())}\n\n`);
      clients.add(res);
      startLive();
      const done = () => {
        clients.delete(res);
        if (clients.size === 0) stopLive();
      };
      req.on('close', done);
      res.on('error', done);
      return;
    }
    return plain(res, 404, 'Not found. Try /, /status.json or /metrics.\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      debug('status request failed: %s', err.message);
      if (!res.headersSent) plain(res, 500, 'Internal error.\n');
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_STATUS_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  debug('status page on http://%s:%d/', shownHost, addr.port);
  return {
    url: `http://${shownHost}:${addr.port}/`,
    port: addr.port,
    server,
    async close() {
      stopLive();
      if (pending) clearTimeout(pending);
      for (const res of clients) res.end();
      clients.clear();
      unregister?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function hostOnly(hostHeader: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostHeader);
  return m ? m[1]! : hostHeader;
}

/** The page's folder: beside this module in src/, or src/observe/page from dist/observe/. */
async function findPageDir(): Promise<URL> {
  const candidates = [new URL('./page/', import.meta.url), new URL('../../src/observe/page/', import.meta.url)];
  for (const dir of candidates) {
    try {
      await readFile(new URL('index.html', dir));
      return dir;
    } catch {
      // try the next
    }
  }
  throw new StatusServerError(
    'ERR_STATUS_NO_PAGE',
    `The status page files are missing (looked in ${candidates.map((c) => fileURLToPath(c)).join(', ')}); reinstall the package.`,
  );
}

/** Options of {@link startModemStatus}. */
export interface ModemStatusOptions {
  /** `HOST:PORT` as `air780 serve --status` takes it. Default `127.0.0.1:9780`. */
  address?: string;
  /** `user:password` (HTTP Basic); required for a non-loopback address. */
  auth?: string;
  /** Signal sampling interval of each module's observer (0 = off). Default 30 000. */
  signalIntervalMs?: number;
  websockets?: () => Record<string, WebSocketObserver>;
}

/**
 * The status server for a set of open modems, as `air780 serve --status HOST:PORT` runs it: an
 * observer per modem (closed with the server), the address parsed, the loopback/credentials rule
 * applied. `close()` stops both.
 */
export async function startModemStatus(
  modems: readonly Modem[],
  options: ModemStatusOptions = {},
): Promise<StatusServer & { observers: ModemObserver[] }> {
  const { host, port } = parseStatusAddress(options.address ?? `${DEFAULT_STATUS_HOST}:${DEFAULT_STATUS_PORT}`);
  const observers = modems.map(
    (m) =>
      new ModemObserver(
        m,
        options.signalIntervalMs === undefined ? {} : { signalIntervalMs: options.signalIntervalMs },
      ),
  );
  try {
    const server = await startStatusServer({
      modules: observers,
      host,
      port,
      ...(options.auth !== undefined ? { auth: options.auth } : {}),
      ...(options.websockets ? { websockets: options.websockets } : {}),
    });
    return {
      ...server,
      observers,
      async close() {
        await server.close();
        for (const o of observers) o.close();
      },
    };
  } catch (err) {
    for (const o of observers) o.close();
    throw err;
  }
}
