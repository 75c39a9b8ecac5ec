/** What both proxy front ends share: the link pool, credentials, limits, the log, open tunnels. */
import type net from 'node:net';
import type { AccessLog, AccessRecord } from './access-log.js';
import type { Credentials } from './credentials.js';
import type { LinkPool } from './pool.js';
import { runTunnel, type Tunnel } from './tunnel.js';
import type { Upstream } from './upstream.js';

export interface ProxyContext {
  pool: LinkPool;
  /** Required credentials, or undefined for none. */
  auth: Credentials | undefined;
  /** Tunnels idle this long close (ms; 0 = never). */
  idleTimeoutMs: number;
  /** A client must finish its greeting/request (SOCKS) or head (HTTP) within this (ms). */
  handshakeTimeoutMs: number;
  log: AccessLog;
  /** Open tunnels and handshakes, ended at shutdown; a tunnel's `done` settles once it is logged. */
  readonly open: Set<{ destroy(): void; done?: Promise<unknown> }>;
  /** Aborted at shutdown: connects and queue waits under way give up. */
  readonly shutdown: AbortSignal;
}

/** The client's address as `ip:port`. */
export function clientAddress(socket: net.Socket): string {
  const a = socket.remoteAddress ?? '?';
  return `${a.includes(':') ? `[${a}]` : a}:${socket.remotePort ?? '?'}`;
}

/** Joins `client` to `upstream`, tracks the tunnel for shutdown and logs it when it closes. */
export function startTunnel(
  ctx: ProxyContext,
  client: net.Socket,
  upstream: Upstream,
  meta: { proxy: AccessRecord['proxy']; client: string; destination: string; started: number },
): Tunnel {
  const tunnel = runTunnel(client, upstream.socket, { idleTimeoutMs: ctx.idleTimeoutMs });
  const logged = tunnel.done.then((r) => {
    ctx.open.delete(entry);
    ctx.log.write({
      time: new Date().toISOString(),
      proxy: meta.proxy,
      client: meta.client,
      destination: meta.destination,
      module: upstream.module.name,
      up: r.up,
      down: r.down,
      durationMs: Date.now() - meta.started,
      ended: r.ended,
      ...(r.error ? { error: r.error } : {}),
    });
  });
  // Shutdown waits for `done` so that the tunnel's line is written before the log closes.
  const entry = { destroy: () => tunnel.destroy(), done: logged };
  ctx.open.add(entry);
  return tunnel;
}

/** Logs a connection that was refused before any tunnel (no link, unresolved, refused…). */
export function logRefusal(
  ctx: ProxyContext,
  meta: { proxy: AccessRecord['proxy']; client: string; destination: string; started: number },
  ended: string,
  error?: string,
): void {
  ctx.log.write({
    time: new Date().toISOString(),
    proxy: meta.proxy,
    client: meta.client,
    destination: meta.destination,
    up: 0,
    down: 0,
    durationMs: Date.now() - meta.started,
    ended,
    ...(error ? { error } : {}),
  });
}
