/**
 * SOCKS5 (RFC 1928) with optional username/password (RFC 1929), CONNECT only, over module links.
 * Our own small state machine rather than a package: the npm servers looked at (socksv5 0.0.6,
 * untouched for a decade; socks5-server 0.1.1, on the `ip` package; simple-socks 3.6, on `binary`
 * from 2012) each open the destination with `net.connect` themselves, while here it must be a
 * pooled module link, with names resolved by the module and failures mapped to reply codes. The
 * protocol side is a few parsers (./socks5-parse.ts), fuzzed in test/serve/socks5-parse.test.ts.
 *
 * One connection: greeting → (auth) → request → connecting → tunnel. Anything else gets the
 * protocol's refusal (when it has one) and a closed connection; a handshake that stalls is closed
 * after `handshakeTimeoutMs`.
 */
import net from 'node:net';
import createDebug from 'debug';
import { clientAddress, logRefusal, startTunnel, type ProxyContext } from './context.js';
import { credentialsMatch } from './credentials.js';
import {
  METHOD_NO_ACCEPTABLE,
  METHOD_NONE,
  METHOD_USERPASS,
  REP,
  SOCKS_VERSION,
  AUTH_VERSION,
  parseGreeting,
  parseRequest,
  parseUserPass,
  socksReply,
  type Parsed,
  type SocksRequest,
} from './socks5-parse.js';
import { failureKind, openUpstream, type FailureKind } from './upstream.js';

const debug = createDebug('air780:serve:socks');

/** The RFC 1928 reply for a failed connect. */
export const SOCKS_REPLY_FOR: Record<FailureKind, number> = {
  refused: REP.connectionRefused,
  unresolved: REP.hostUnreachable,
  timeout: REP.ttlExpired,
  'not-ready': REP.networkUnreachable,
  'queue-full': REP.generalFailure,
  'queue-timeout': REP.generalFailure,
  'address-type': REP.addressTypeNotSupported,
  other: REP.generalFailure,
};

type Phase = 'greeting' | 'auth' | 'request' | 'connecting';

/** Handles one accepted client connection. */
export function handleSocksClient(ctx: ProxyContext, client: net.Socket): void {
  const started = Date.now();
  const who = clientAddress(client);
  let phase: Phase = 'greeting';
  let buf: Buffer = Buffer.alloc(0);
  const handshake = { destroy: () => client.destroy() };
  ctx.open.add(handshake);
  const timer = setTimeout(() => {
    debug('socks %s: handshake not finished within %d ms', who, ctx.handshakeTimeoutMs);
    client.destroy();
  }, ctx.handshakeTimeoutMs);
  const leaveHandshake = (): void => {
    clearTimeout(timer);
    ctx.open.delete(handshake);
    client.off('data', onData);
    client.off('end', onEarlyEnd);
  };
  client.once('close', leaveHandshake);
  // allowHalfOpen: a client that sends FIN mid-handshake would otherwise hold the socket until the timeout.
  const onEarlyEnd = (): void => void client.destroy();
  client.once('end', onEarlyEnd);
  client.on('error', (err) => debug('socks %s: %s', who, err.message));

  /** Sends the refusal (if any) and closes. */
  const refuse = (reason: string, reply?: Buffer): void => {
    debug('socks %s: refused (%s)', who, reason);
    leaveHandshake();
    if (reply) client.end(reply);
    else client.destroy();
    // A client that never reads our refusal must not hold the socket open.
    setTimeout(() => client.destroy(), 2000).unref();
  };

  function step<T>(parsed: Parsed<T>, then: (value: T) => void): boolean {
    if (parsed.kind === 'more') return false;
    if (parsed.kind === 'bad') {
      refuse(parsed.reason, parsed.reply);
      return false;
    }
    buf = buf.subarray(parsed.length);
    then(parsed.value);
    return true;
  }

  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    // Each message is answered before the next is parsed; a complete one needs at most 513 bytes,
    // so the buffer stays bounded by the parsers.
    for (;;) {
      if (phase === 'greeting') {
        if (!step(parseGreeting(buf), onGreeting)) return;
      } else if (phase === 'auth') {
        if (!step(parseUserPass(buf), onAuth)) return;
      } else if (phase === 'request') {
        if (!step(parseRequest(buf), onRequest)) return;
      } else {
        return;
      }
      if (client.destroyed || client.writableEnded) return;
    }
  };

  function onGreeting(methods: number[]): void {
    const wanted = ctx.auth ? METHOD_USERPASS : METHOD_NONE;
    if (!methods.includes(wanted))
      return refuse(
        `no acceptable method in [${methods.join(',')}]`,
        Buffer.from([SOCKS_VERSION, METHOD_NO_ACCEPTABLE]),
      );
    client.write(Buffer.from([SOCKS_VERSION, wanted]));
    phase = ctx.auth ? 'auth' : 'request';
  }

  function onAuth(cred: { user: Buffer; pass: Buffer }): void {
    if (!credentialsMatch(ctx.auth!, cred.user, cred.pass))
      return refuse('wrong user name or password', Buffer.from([AUTH_VERSION, 0x01]));
    client.write(Buffer.from([AUTH_VERSION, 0x00]));
    phase = 'request';
  }

  function onRequest(req: SocksRequest): void {
    phase = 'connecting';
    // Bytes sent right after the request (optimistic data) wait for the link.
    client.pause();
    leaveHandshake();
    const rest = buf;
    buf = Buffer.alloc(0);
    void connect(req, rest);
  }

  async function connect(req: SocksRequest, rest: Buffer): Promise<void> {
    const destination = `${req.type === 'ipv6' ? `[${req.host}]` : req.host}:${req.port}`;
    const meta = { proxy: 'socks' as const, client: who, destination, started };
    // A client that leaves while it waits for a link gives up its place.
    const gone = new AbortController();
    const onGone = (): void => gone.abort(new Error('the client closed the connection'));
    client.once('close', onGone);
    try {
      const upstream = await openUpstream(
        ctx.pool,
        { host: req.host, port: req.port },
        { signal: AbortSignal.any([gone.signal, ctx.shutdown]) },
      );
      client.off('close', onGone);
      if (client.destroyed) {
        upstream.socket.destroy();
        return;
      }
      client.write(socksReply(REP.succeeded));
      if (rest.length > 0) client.unshift(rest);
      startTunnel(ctx, client, upstream, meta);
      client.resume();
    } catch (err) {
      client.off('close', onGone);
      const kind = failureKind(err);
      debug('socks %s → %s: %s (%s)', who, destination, kind, (err as Error).message);
      logRefusal(ctx, meta, kind, (err as { code?: string }).code);
      if (!client.destroyed) {
        client.end(socksReply(SOCKS_REPLY_FOR[kind]));
        setTimeout(() => client.destroy(), 2000).unref();
      }
    }
  }

  client.on('data', onData);
}

/** A SOCKS5 listener on `host:port` (port 0: any free one). */
export async function listenSocks(ctx: ProxyContext, host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (client) =>
    handleSocksClient(ctx, client),
  );
  server.on('error', (err) => debug('socks listener: %s', err.message));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
