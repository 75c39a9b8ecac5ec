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
  /** Aborted when the handshake times out or the client is closed. */
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
          new WsConnectError(`Cannot connect to ${t.host}:${t.port}${t.secure ? ' (TLS)' : ''}: ${err.message}. Check the host, port, network and certificates.`, {
            cause: err,
          }),
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
    options?: { tls?: false | 'host' | 'modem'; servername?: string; ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean; timeoutMs?: number },
  ): Promise<Duplex>;
}

/** Node's certificate verification failures (host TLS). */
const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;

/** A transport over a `Modem` (or any {@link StreamOpener}). */
export function openerConnect(opener: StreamOpener, tlsOptions: WsTlsOptions = {}): ConnectFn {
  return async (t) => {
    try {
      const opts: Parameters<StreamOpener['openStream']>[2] = { tls: t.secure ? (tlsOptions.mode ?? 'host') : false };
      if (t.secure && t.servername) opts.servername = t.servername;
      if (tlsOptions.ca !== undefined) opts.ca = tlsOptions.ca;
      if (tlsOptions.rejectUnauthorized !== undefined) opts.rejectUnauthorized = tlsOptions.rejectUnauthorized;
      const stream = await opener.openStream(t.host, t.port, opts);
      if (t.signal.aborted) {
        stream.destroy();
        throw new WsConnectError(`Connecting to ${t.host}:${t.port} was aborted`);
      }
      return stream;
    } catch (err) {
      if (err instanceof WsConnectError) throw err;
      const code = String((err as { code?: unknown }).code ?? '');
      const advice = t.secure && CERT_ERROR.test(code)
        ? `: the server's certificate was not accepted (${code}). Pass the CA that signed it as the \`ca\` option, and check that the URL's host name is in the certificate.`
        : '';
      throw new WsConnectError(`Cannot open a stream to ${t.host}:${t.port} through the module: ${(err as Error).message}${advice}`, { cause: err });
    }
  };
}
