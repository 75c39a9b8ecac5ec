/**
 * `serve`: the SOCKS5 and HTTP proxies over a pool of module links, started and stopped together.
 */
import type { AddressInfo, Server } from 'node:net';
import { noAccessLog, type AccessLog } from './access-log.js';
import type { ProxyContext } from './context.js';
import type { Credentials } from './credentials.js';
import { listenHttpProxy } from './http-proxy.js';
import { LinkPool, type PoolModule } from './pool.js';
import { listenSocks } from './socks5-server.js';

/** How long shutdown waits for the ended tunnels' log lines. */
const LOG_FLUSH_MS = 2000;

export interface Listen {
  host: string;
  port: number;
}

export interface ServeOptions {
  modules: readonly PoolModule[];
  /** Where the SOCKS5 proxy listens; undefined: off. */
  socks?: Listen;
  /** Where the HTTP proxy listens; undefined: off. */
  http?: Listen;
  auth?: Credentials;
  /** Clients allowed to wait for a link (default 64). */
  maxQueue?: number;
  /** Longest wait for a link, ms (default 30 000). */
  queueTimeoutMs?: number;
  /** Idle tunnels close after this, ms (default 300 000; 0 never). */
  idleTimeoutMs?: number;
  /** SOCKS handshake / HTTP head deadline, ms (default 10 000). */
  handshakeTimeoutMs?: number;
  log?: AccessLog;
}

export interface RunningProxies {
  /** Bound addresses (the port chosen when 0 was asked). */
  socks?: Listen;
  http?: Listen;
  pool: LinkPool;
  /** Stops accepting, ends every tunnel and waiting client, closes the log. Not the modems. */
  close(): Promise<void>;
}

function bound(server: Server): Listen {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

export async function startProxies(options: ServeOptions): Promise<RunningProxies> {
  const pool = new LinkPool(options.modules, {
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.queueTimeoutMs !== undefined ? { queueTimeoutMs: options.queueTimeoutMs } : {}),
  });
  const stopping = new AbortController();
  const ctx: ProxyContext = {
    pool,
    auth: options.auth,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    log: options.log ?? noAccessLog,
    open: new Set(),
    shutdown: stopping.signal,
  };
  const servers: Server[] = [];
  const result: RunningProxies = {
    pool,
    async close() {
      stopping.abort(new Error('the proxy is shutting down'));
      pool.close();
      const closing = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      const open = [...ctx.open];
      for (const t of open) t.destroy();
      await Promise.all(closing);
      // Each ended tunnel writes its log line once both of its sockets closed: wait for those
      // lines (bounded) before the log is closed, or the last tunnels would go unlogged.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(open.map((t) => t.done)),
        new Promise<void>((r) => {
          timer = setTimeout(r, LOG_FLUSH_MS);
        }),
      ]);
      clearTimeout(timer);
      await ctx.log.close();
    },
  };
  try {
    if (options.socks) {
      const s = await listenSocks(ctx, options.socks.host, options.socks.port);
      servers.push(s);
      result.socks = bound(s);
    }
    if (options.http) {
      const s = await listenHttpProxy(ctx, options.http.host, options.http.port);
      servers.push(s);
      result.http = bound(s);
    }
  } catch (err) {
    await result.close();
    throw err;
  }
  return result;
}
