import type { Duplex } from 'node:stream';
import { ModemNetError } from './errors.js';

/** Driver codes a connected link fails with when it is gone under the reader (peer or module). */
const RESET_CODES = new Set(['ERR_LINK_CLOSED', 'ERR_MODEM_RESET']);

/**
 * The errno-style error a `net.Socket` would have emitted for `err`, or `err` itself when there
 * is none. `connected`: the socket had connected (a failure then is a reset, before it a refusal).
 */
export function asNetError(err: Error & { code?: string }, connected: boolean): Error {
  if (err instanceof ModemNetError) return err;
  if (connected && err.code && RESET_CODES.has(err.code)) return new ModemNetError('ECONNRESET', 'read', err);
  if (!connected && err.code === 'ERR_CONNECT_FAILED') return new ModemNetError('ECONNREFUSED', 'connect', err);
  if (!connected && err.code === 'ERR_CONNECT_TIMEOUT') return new ModemNetError('ETIMEDOUT', 'connect', err);
  if (!connected && err.code === 'ERR_MODEM_RESET') return new ModemNetError('ECONNRESET', 'connect', err);
  return err;
}

/**
 * Makes `socket` fail with {@link asNetError}'s errors: libraries (http, undici, mqtt.js, ws)
 * decide on `err.code` whether to retry, and they know `ECONNRESET`, not `ERR_MODEM_RESET`.
 * Wraps this one instance's `_destroy`, through which every error of a stream passes.
 */
export function withNetErrors<S extends Duplex & { connecting?: boolean }>(socket: S): S {
  let connected = false;
  socket.once('connect', () => (connected = true));
  const destroyImpl = socket._destroy.bind(socket);
  socket._destroy = (err: Error | null, cb: (e?: Error | null) => void) => {
    destroyImpl(err, (e?: Error | null) => cb(e ? asNetError(e, connected) : e));
  };
  return socket;
}
