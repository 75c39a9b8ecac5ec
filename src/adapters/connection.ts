import tls from 'node:tls';
import createDebug from 'debug';
import { BadArgumentError } from '../at/errors.js';
import {
  ConnectTimeoutError,
  ModemNotReadyError,
  type DeliveryTracker,
  type Modem,
  type ModemConnectOptions,
  type ModemSocket,
} from '../modem/index.js';
import { tlsIdentity } from '../modem/host-tls.js';
import { asNetError, withNetErrors } from './net-errors.js';

const debug = createDebug('air780:adapters');

/**
 * Options of {@link createConnection}: those of `net.createConnection` / `tls.connect` that make
 * sense over the module, plus the module's own.
 */
export interface ModemConnectionOptions extends Omit<ModemConnectOptions, 'timeoutMs'> {
  /** Host name or IPv4 address; the module resolves names itself. Default 'localhost'. */
  host?: string;
  port: number | string;
  /** Idle timeout as `socket.setTimeout(timeout)`: 'timeout' after that many ms without traffic. */
  timeout?: number;
  /**
   * Wait for the module's `CONNECT OK` (default: the modem's `connectTimeoutMs`). Host TLS: the
   * whole connect, link and handshake, is bounded by it (default 60 s), then `ETIMEDOUT`.
   */
  connectTimeoutMs?: number;
  /** Host TLS: ALPN protocols to offer (`socket.alpnProtocol` tells the one chosen). */
  ALPNProtocols?: string[];
  /** Host TLS: Node's identity check, if a library brings its own. */
  checkServerIdentity?: tls.ConnectionOptions['checkServerIdentity'];
  /** Host TLS: a client certificate and key (PEM). */
  cert?: string | Buffer | Array<string | Buffer>;
  key?: string | Buffer | Array<string | Buffer>;
  /** Host TLS: resume a session (`socket.getSession()` of an earlier one). */
  session?: Buffer;
}

/** What {@link createConnection} returns: a `net.Socket`-like stream with the link's delivery tracker. */
export type ModemConnection = (ModemSocket | tls.TLSSocket) & { delivery: DeliveryTracker };

function parsePort(port: number | string): number {
  const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new BadArgumentError('port', `port must be an integer 1–65535, got ${String(port)}`);
  }
  return n;
}

/** Normalises the `net.createConnection` argument forms: (options, cb) and (port, host?, cb?). */
export function connectionArgs(args: [ModemConnectionOptions | number | string, ...unknown[]]): {
  options: ModemConnectionOptions;
  listener: (() => void) | undefined;
} {
  const [first, second, third] = args;
  if (typeof first === 'object' && first !== null) {
    return { options: first, listener: typeof second === 'function' ? (second as () => void) : undefined };
  }
  const host = typeof second === 'string' ? second : undefined;
  const listener = [second, third].find((a): a is () => void => typeof a === 'function');
  return { options: { port: first, ...(host ? { host } : {}) }, listener };
}

/**
 * `net.createConnection` / `tls.connect` through the module: returns the socket at once (it
 * connects in the background, as Node's does); `listener` runs on 'connect' (plain, module TLS)
 * or 'secureConnect' (host TLS). Errors are Node's (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`)
 * with the driver's error as `cause`, or the driver's own (`ERR_NO_FREE_LINK`, `ERR_BAD_ARGUMENT`…).
 *
 * `tls: true`/`'host'` runs Node's TLS on the host over a plain link; certificates are verified
 * (system store, or `ca`) unless `rejectUnauthorized: false`. `tls: 'modem'` is the module's TLS.
 */
export function createConnection(
  modem: Modem,
  options: ModemConnectionOptions,
  listener?: () => void,
): ModemConnection {
  const host = options.host ?? 'localhost';
  const port = parsePort(options.port);
  const mode = options.tls === true ? 'host' : (options.tls ?? false);
  const { connectTimeoutMs } = options;
  // A recovering module makes a new connection fail at once (ERR_MODEM_NOT_READY) rather than
  // wait for it: pools and reconnecting clients retry on their own schedule.
  const signal =
    modem.state === 'online' || modem.state === 'closed'
      ? options.signal
      : AbortSignal.abort(new ModemNotReadyError(modem.state));
  const base = {
    ...(connectTimeoutMs !== undefined ? { timeoutMs: connectTimeoutMs } : {}),
    ...(signal ? { signal } : {}),
  };
  if (mode !== 'host') {
    const socket = withNetErrors(
      modem.connect(
        host,
        port,
        mode === 'modem' ? { ...pickModuleTls(options), ...base, tls: 'modem' } : { ...base, tls: false },
      ),
    );
    if (options.timeout !== undefined) socket.setTimeout(options.timeout);
    if (listener) socket.once('connect', listener);
    return socket;
  }
  const raw = withNetErrors(modem.connect(host, port, { ...base, tls: false }));
  if (options.rejectUnauthorized === false)
    debug('WARNING: TLS certificate verification is OFF for %s:%d (rejectUnauthorized: false)', host, port);
  const secure = tls.connect({
    socket: raw,
    ...tlsIdentity(host, options.servername), // an IP target is checked against the IP, not localhost
    rejectUnauthorized: options.rejectUnauthorized !== false,
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
    ...(options.checkServerIdentity ? { checkServerIdentity: options.checkServerIdentity } : {}),
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key } : {}),
    ...(options.session ? { session: options.session } : {}),
  });
  // A link that fails before or during the handshake takes the TLS socket with it, and the reverse.
  raw.once('error', (err) => secure.destroy(err));
  secure.once('close', () => raw.destroy());
  const handshakeMs = connectTimeoutMs ?? 60_000;
  const timer = setTimeout(
    () => secure.destroy(asNetError(new ConnectTimeoutError(host, port, handshakeMs), false)),
    handshakeMs,
  );
  const settle = () => clearTimeout(timer);
  secure.once('secureConnect', settle);
  secure.once('close', settle);
  if (options.timeout !== undefined) secure.setTimeout(options.timeout);
  if (listener) secure.once('secureConnect', listener);
  return Object.assign(secure, { delivery: raw.delivery });
}

function pickModuleTls(o: ModemConnectionOptions): ModemConnectOptions {
  return {
    ...(o.servername !== undefined ? { servername: o.servername } : {}),
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
    ...(o.sslVersion !== undefined ? { sslVersion: o.sslVersion } : {}),
  };
}
