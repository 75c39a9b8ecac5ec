import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { BadArgumentError } from '../at/errors.js';
import type { DeliveryTracker } from './delivery.js';
import { ConnectTimeoutError, LinkClosedError } from './errors.js';
import type { ModemSocket } from './socket.js';

const debug = createDebug('air780:modem:tls');

/** @internal What host TLS reads from the connect options. */
export interface HostTlsOptions {
  servername?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
}

/**
 * @internal Node's TLS over a connected module link (`tls: 'host'`): the handshake is bounded by
 * `timeoutMs`; on failure both the TLS stream and the link are destroyed so the link id is freed.
 */
export async function hostTls(socket: ModemSocket, host: string, port: number, options: HostTlsOptions, timeoutMs: number): Promise<Duplex & { delivery: DeliveryTracker }> {
  const servername = options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
  if (options.rejectUnauthorized === false) {
    debug('WARNING: TLS certificate verification is OFF for %s:%d (rejectUnauthorized: false)', host, port);
  }
  const tlsOpts: tls.ConnectionOptions = {
    socket,
    rejectUnauthorized: options.rejectUnauthorized !== false,
    ...(servername ? { servername } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
  };
  const secure = tls.connect(tlsOpts);
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new ConnectTimeoutError(host, port, timeoutMs)), timeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(t);
        resolve();
      });
      secure.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
      secure.once('close', () => {
        clearTimeout(t);
        reject(new LinkClosedError(socket.link, 'closed during the TLS handshake'));
      });
    });
  } catch (err) {
    secure.destroy();
    socket.destroy();
    throw err;
  }
  return Object.assign(secure, { delivery: socket.delivery });
}

/** @internal The connect option `tls` as one of its three modes; anything else is a bad argument. */
export function normaliseTls(tlsOpt: boolean | 'host' | 'modem' | undefined): false | 'host' | 'modem' {
  if (tlsOpt === undefined || tlsOpt === false) return false;
  if (tlsOpt === true || tlsOpt === 'host') return 'host';
  if (tlsOpt === 'modem') return 'modem';
  throw new BadArgumentError('tls', `tls must be false, true, 'host' or 'modem', got ${String(tlsOpt)}`);
}

/** @internal Resolves on the socket's 'connect', rejects with its first 'error'. */
export function onceConnected(socket: ModemSocket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onErr = (e: Error) => {
      socket.off('connect', onOk);
      reject(e);
    };
    const onOk = () => {
      socket.off('error', onErr);
      resolve();
    };
    socket.once('connect', onOk);
    socket.once('error', onErr);
  });
}
