import { createRequire } from 'node:module';
import type { Agent as UndiciAgent } from 'undici';
import type { Modem } from '../modem/index.js';
import type { ModemConnectionOptions } from './connection.js';
import { PeerDependencyMissingError } from './errors.js';
import { connectWhenFree, type LinkWaitOptions } from './link-wait.js';

/** Options of {@link dispatcher}: undici `Agent` options (less `connect`) plus the link wait and host-TLS settings. */
export interface ModemDispatcherOptions extends Omit<LinkWaitOptions, 'signal'> {
  /** Wait for the module's `CONNECT OK`. Default: the modem's `connectTimeoutMs`. */
  connectTimeoutMs?: number;
  /** https: CA(s) to verify servers against (default: the system store). */
  ca?: ModemConnectionOptions['ca'];
  /** https: verification is on unless this is explicitly false. */
  rejectUnauthorized?: boolean;
  /** https: TLS on the host (default) or on the module. */
  tlsMode?: 'host' | 'modem';
  /** Connections per origin. Default and maximum: 6 (the module's links). */
  connections?: number;
  /** Other undici `Agent` options (`keepAliveTimeout`, `headersTimeout`, `bodyTimeout`, …). */
  agent?: Record<string, unknown>;
}

/** What undici passes to a `connect` function. */
interface UndiciConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string | number;
  servername?: string | null;
}

const require = createRequire(import.meta.url);

/**
 * @internal An optional peer dependency, loaded on first use (synchronously: undici is CommonJS),
 * or `ERR_PEER_MISSING` naming it.
 */
export function loadPeer<T>(pkg: string, what: string): T {
  try {
    return require(pkg) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND')
      throw new PeerDependencyMissingError(pkg, what, { cause: err });
    throw err;
  }
}

/**
 * An undici `Agent` whose connections are module links, for `fetch(url, { dispatcher })`,
 * `undici.request` and friends: HTTP/1.1 with keep-alive, at most 6 connections per origin,
 * https verified on the host (system store or `ca`). undici is an optional peer dependency:
 * without it this throws `ERR_PEER_MISSING` naming the package. When every link is taken a
 * connection waits up to `linkWaitMs`, then the request fails with `ERR_LINK_WAIT_TIMEOUT` as its
 * `cause`.
 */
export function dispatcher(modem: Modem, options: ModemDispatcherOptions = {}): UndiciAgent {
  const { Agent } = loadPeer<typeof import('undici')>('undici', 'dispatcher()');
  const wait: LinkWaitOptions = {
    ...(options.linkWaitMs !== undefined ? { linkWaitMs: options.linkWaitMs } : {}),
    ...(options.maxQueued !== undefined ? { maxQueued: options.maxQueued } : {}),
  };
  const connect = (o: UndiciConnectOptions, cb: (err: Error | null, socket: unknown) => void): void => {
    const secure = o.protocol === 'https:';
    const target: ModemConnectionOptions = {
      host: o.hostname,
      port: o.port === '' || o.port === undefined ? (secure ? 443 : 80) : o.port,
      tls: secure ? (options.tlsMode === 'modem' ? 'modem' : 'host') : false,
      ...(secure && o.servername ? { servername: o.servername } : {}),
      ...(secure && options.ca ? { ca: options.ca } : {}),
      ...(secure && options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    };
    connectWhenFree(modem, target, wait).then(
      (socket) => cb(null, socket),
      (err: Error) => cb(err, null),
    );
  };
  return new Agent({ ...options.agent, connections: Math.min(options.connections ?? 6, 6), connect: connect as never });
}
