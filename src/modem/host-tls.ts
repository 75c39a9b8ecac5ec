import { isIP } from 'node:net';
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
 * @internal The name a server certificate must carry, and the SNI to send: `servername` if given,
 * else the host. An IP literal is checked as an IP (a certificate's `IP:` entry) and sent as no SNI
 * at all (RFC 6066 allows host names only; Node warns DEP0123). Without an explicit `host`, Node's
 * TLS over a given socket checks the certificate against `localhost`, which made a `localhost`
 * certificate pass for every IP target.
 */
export function tlsIdentity(host: string, servername: string | undefined): { host: string; servername?: string } {
  const name = servername || host;
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  return isIP(bare) ? { host: bare } : { host: name, servername: name };
}

/**
 * @internal Node's TLS over a connected module link (`tls: 'host'`): the handshake is bounded by
 * `timeoutMs`; on failure both the TLS stream and the link are destroyed so the link id is freed.
 * The certificate is verified against {@link tlsIdentity}.
 */
export async function hostTls(
  socket: ModemSocket,
  host: string,
  port: number,
  options: HostTlsOptions,
  timeoutMs: number,
): Promise<Duplex & { delivery: DeliveryTracker }> {
  if (options.rejectUnauthorized === false) {
    debug('WARNING: TLS certificate verification is OFF for %s:%d (rejectUnauthorized: false)', host, port);
  }
  const tlsOpts: tls.ConnectionOptions = {
    socket,
    ...tlsIdentity(host, options.servername),
    rejectUnauthorized: options.rejectUnauthorized !== false,
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
