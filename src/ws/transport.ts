import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { WsConnectError } from './errors.js';

/** Where to connect; `servername` is empty for IP literals (no SNI). */
export interface ConnectTarget {
  host: string;
  port: number;
  secure: boolean;
  servername: string;
  /**
   * Aborted when the handshake times out or the client is closed: stop connecting. A function that
   * ignores it still works: the attempt ends on the abort and a stream delivered later is destroyed.
   */
  signal: AbortSignal;
}

/** Opens a connected stream (TLS already established for `secure`). */
export type ConnectFn = (target: ConnectTarget) => Promise<Duplex>;

/** TLS settings for the default host transport and for `openStream` adapters. */
export interface WsTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Where TLS runs for a modem adapter: 'host' (Node tls, default) or 'modem' (module TLS). */
  mode?: 'host' | 'modem';
}

/**
 * Plain host sockets (`net` / `tls`): the default transport of `WebSocketClient`, and the
 * transport of `websocket.create('host', ...)`.
 */
export function hostConnect(tlsOptions: WsTlsOptions = {}): ConnectFn {
  return (t) =>
    new Promise<Duplex>((resolve, reject) => {
      let socket: net.Socket;
      const onAbort = () => {
        socket.destroy();
        reject(new WsConnectError(`Connecting to ${t.host}:${t.port} was aborted`, { cause: t.signal.reason }));
      };
      const ready = () => {
        t.signal.removeEventListener('abort', onAbort);
        socket.removeListener('error', onError);
        resolve(socket);
      };
      const onError = (err: Error) => {
        t.signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(
          new WsConnectError(
            `Cannot connect to ${t.host}:${t.port}${t.secure ? ' (TLS)' : ''}: ${err.message}. Check the host, port, network and certificates.`,
            {
              cause: err,
            },
          ),
        );
      };
      if (t.secure) {
        const opts: tls.ConnectionOptions = { host: t.host, port: t.port, ALPNProtocols: ['http/1.1'] };
        if (t.servername) opts.servername = t.servername;
        if (tlsOptions.ca !== undefined) opts.ca = tlsOptions.ca;
        if (tlsOptions.cert !== undefined) opts.cert = tlsOptions.cert;
        if (tlsOptions.key !== undefined) opts.key = tlsOptions.key;
        if (tlsOptions.rejectUnauthorized !== undefined) opts.rejectUnauthorized = tlsOptions.rejectUnauthorized;
        socket = tls.connect(opts, ready);
      } else {
        socket = net.connect({ host: t.host, port: t.port }, ready);
      }
      socket.once('error', onError);
      if (t.signal.aborted) onAbort();
      else t.signal.addEventListener('abort', onAbort, { once: true });
    });
}

/** Anything that opens streams like `Modem.openStream` (a `Modem` is one). */
export interface StreamOpener {
  openStream(
    host: string,
    port: number,
    options?: {
      tls?: false | 'host' | 'modem';
      servername?: string;
      ca?: string | Buffer | Array<string | Buffer>;
      rejectUnauthorized?: boolean;
      timeoutMs?: number;
      /**
       * Aborted on the handshake timeout or the client's close()/terminate(): the opener should
       * destroy what it is connecting (a `Modem` CIPCLOSEs the link). An opener that ignores it
       * still works: its stream is destroyed when it arrives.
       */
      signal?: AbortSignal;
    },
  ): Promise<Duplex>;
}

/** Node's certificate verification failures (host TLS). */
const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;

/**
 * A transport over a `Modem` (or any {@link StreamOpener}). The attempt's signal goes to
 * `openStream`, and the connect settles as soon as it aborts, whatever the opener does with it: the
 * handshake timeout covers the module's connect, not only the HTTP upgrade.
 */
export function openerConnect(opener: StreamOpener, tlsOptions: WsTlsOptions = {}): ConnectFn {
  return async (t) => {
    const aborted = () =>
      new WsConnectError(`Connecting to ${t.host}:${t.port} was aborted`, { cause: t.signal.reason });
    if (t.signal.aborted) throw aborted();
    const opts: NonNullable<Parameters<StreamOpener['openStream']>[2]> = {
      tls: t.secure ? (tlsOptions.mode ?? 'host') : false,
      signal: t.signal,
    };
    if (t.secure && t.servername) opts.servername = t.servername;
    if (tlsOptions.ca !== undefined) opts.ca = tlsOptions.ca;
    if (tlsOptions.rejectUnauthorized !== undefined) opts.rejectUnauthorized = tlsOptions.rejectUnauthorized;
    let opening: Promise<Duplex>;
    try {
      opening = opener.openStream(t.host, t.port, opts);
    } catch (err) {
      throw openFailed(t, err);
    }
    let onAbort = (): void => {};
    const abortedEarly = new Promise<never>((_, reject) => {
      onAbort = () => reject(aborted());
      t.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([opening, abortedEarly]);
    } catch (err) {
      if (t.signal.aborted) {
        // A stream that still arrives after the abort must not stay open (and hold a module link).
        opening.then(
          (s) => s.destroy(),
          () => undefined,
        );
        throw err instanceof WsConnectError ? err : aborted();
      }
      throw openFailed(t, err);
    } finally {
      t.signal.removeEventListener('abort', onAbort);
      abortedEarly.catch(() => undefined);
    }
  };
}

function openFailed(t: { host: string; port: number; secure: boolean }, err: unknown): WsConnectError {
  if (err instanceof WsConnectError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const advice =
    t.secure && CERT_ERROR.test(code)
      ? `: the server's certificate was not accepted (${code}). Pass the CA that signed it as the \`ca\` option, and check that the URL's host name is in the certificate.`
      : '';
  return new WsConnectError(
    `Cannot open a stream to ${t.host}:${t.port} through the module: ${(err as Error).message}${advice}`,
    { cause: err },
  );
}
