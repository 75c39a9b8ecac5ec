import type { Duplex } from 'node:stream';
import type createDebug from 'debug';
import { DEFAULT_MAX_HEADER_BYTES, MAX_REDIRECTS } from './constants.js';
import { deflateOffer, type PerMessageDeflateOptions } from './deflate.js';
import { WsConnectError, WsHandshakeError } from './errors.js';
import { buildRequest, makeKey, peerText, ResponseParser, type ResponseHead } from './handshake.js';
import { checkRedirectHeaders, redactHeaders } from './headers.js';
import type { ConnectFn, ConnectTarget } from './transport.js';
import { parseWsUrl, redactUrl, unparsedUrlShown, type WsTarget } from './url.js';

/**
 * What the opening handshake needs from the client. The client keeps one of these and updates
 * `headers` in place (setHeaders), so every redirect hop sends the headers current at that hop.
 */
export interface OpeningSettings {
  /** The client's URL for traces and messages (password and query values redacted). */
  url: string;
  origin: string | undefined;
  protocols: string[];
  deflateOptions: PerMessageDeflateOptions | null;
  headers: Array<[string, string]>;
  connect: ConnectFn;
  /** The client's options object itself: read at each hop, as the options are. */
  limits: {
    maxHeaderBytes?: number;
    followRedirects?: boolean;
    maxRedirects?: number;
    redirectHeaders?: readonly string[];
  };
  log: createDebug.Debugger;
}

/** A stream whose server answered 101; the caller validates the head against `key`. */
export interface Upgraded {
  stream: Duplex;
  head: ResponseHead;
  key: string;
  /** Bytes after the response head: the first frames. */
  rest: Buffer;
}

type Hop = { redirect: string } | Upgraded;

/**
 * Connects and runs the opening handshake, following redirects when allowed. Rejects with
 * WsConnectError / WsHandshakeError / WsUrlError / WsHeaderError, or the signal's reason; no stream
 * is left open on rejection. The stream of the result is paused.
 */
export async function openConnection(s: OpeningSettings, first: WsTarget, signal: AbortSignal): Promise<Upgraded> {
  let target = first;
  let redirects = 0;
  // Once a redirect left the first origin (or went from wss to ws), the URL's credentials and the
  // user's headers (all of them, but those in redirectHeaders) stay behind for the rest of the
  // chain, even if it comes back: like the ws package (and curl), only stricter.
  let withCredentials = true;
  for (;;) {
    const r = await handshakeOnce(s, target, signal, withCredentials);
    if (!('redirect' in r)) return r;
    const max = Math.min(s.limits.maxRedirects ?? MAX_REDIRECTS, MAX_REDIRECTS);
    if (++redirects > max)
      throw new WsHandshakeError(`More than ${max} redirects from ${s.url}`, { code: 'ERR_WS_REDIRECT' });
    const next = redirectTarget(r.redirect, target);
    if (withCredentials && !sameOrigin(first, next)) {
      withCredentials = false;
      const kept = [...checkRedirectHeaders(s.limits.redirectHeaders)];
      s.log(
        'redirect to another origin (%s): URL credentials and the headers set by the user are not sent%s',
        redactUrl(next.display),
        kept.length ? ` (except ${kept.join(', ')}: redirectHeaders)` : '',
      );
    }
    if (!withCredentials) next.authorization = undefined;
    else if (!next.authorization) next.authorization = target.authorization;
    s.log('redirect %d to %s', redirects, redactUrl(next.display));
    target = next;
  }
}

/**
 * The target a `Location` names, resolved against the request's URL. A Location that is not a
 * ws/wss/http/https URL is a {@link WsHandshakeError} (`ERR_WS_REDIRECT`) without a cause: the URL
 * parser's error would carry the request URL (its `base`, with the query's token) and the raw
 * Location, and the message shows both masked.
 */
function redirectTarget(location: string, from: WsTarget): WsTarget {
  let resolved: URL;
  try {
    resolved = new URL(location, `${from.secure ? 'https' : 'http'}://${from.hostHeader}${from.path}`);
  } catch {
    throw new WsHandshakeError(
      `The server redirected to "${unparsedUrlShown(location.slice(0, 200))}", which is not a valid URL: check the server's Location header`,
      {
        code: 'ERR_WS_REDIRECT',
      },
    );
  }
  try {
    return parseWsUrl(resolved, { allowHttp: true });
  } catch (err) {
    throw new WsHandshakeError(`The server redirected to a URL that cannot be followed: ${(err as Error).message}`, {
      code: 'ERR_WS_REDIRECT',
    });
  }
}

/** Same host and port, and no downgrade from wss to ws (ws's `isSameHost` plus its wss→ws rule). */
function sameOrigin(first: WsTarget, next: WsTarget): boolean {
  return (
    next.host.toLowerCase() === first.host.toLowerCase() && next.port === first.port && (next.secure || !first.secure)
  );
}

/**
 * `connect`, settled by the signal whatever the function does with it: a user's `connect` that
 * ignores the signal must not hold the attempt past its handshake timeout or close(). A stream
 * that arrives after the abort is destroyed, before any request is written on it.
 */
async function connectOrAbort(connect: ConnectFn, t: ConnectTarget): Promise<Duplex> {
  const { signal } = t;
  if (signal.aborted) throw signal.reason;
  const connecting = connect(t);
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const stream = await Promise.race([connecting, aborted]);
    if (signal.aborted) {
      stream.destroy();
      throw signal.reason;
    }
    return stream;
  } catch (err) {
    if (signal.aborted)
      connecting.then(
        (late) => late.destroy(),
        () => undefined,
      );
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    aborted.catch(() => undefined);
  }
}

async function handshakeOnce(
  s: OpeningSettings,
  target: WsTarget,
  signal: AbortSignal,
  withCredentials: boolean,
): Promise<Hop> {
  // Built (and checked) before connecting: a refusal then leaves no stream behind.
  const key = makeKey();
  const request = buildRequest({
    target,
    key,
    origin: s.origin,
    protocols: s.protocols,
    extensions: s.deflateOptions ? deflateOffer(s.deflateOptions) : undefined,
    // Any header may hold a credential (names are not a closed list): past another origin only
    // the ones the user listed in redirectHeaders go on.
    headers: withCredentials
      ? s.headers
      : s.headers.filter(([name]) => checkRedirectHeaders(s.limits.redirectHeaders).has(name.toLowerCase())),
  });
  const stream = await connectOrAbort(s.connect, {
    host: target.host,
    port: target.port,
    secure: target.secure,
    servername: target.servername,
    signal,
  });
  s.log('connected to %s:%d, request:\n%s', target.host, target.port, redactHeaders(request));
  return await new Promise<Hop>((resolve, reject) => {
    const parser = new ResponseParser(s.limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
    let head: ResponseHead | null = null;
    let body: Buffer[] = [];
    let bodyLen = 0;
    let bodyTimer: NodeJS.Timeout | null = null;
    const cleanup = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('close', onEnd);
      stream.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (bodyTimer) clearTimeout(bodyTimer);
    };
    const fail = (err: Error) => {
      cleanup();
      stream.destroy();
      reject(err);
    };
    const statusError = () => {
      const h = head!;
      const b = Buffer.concat(body).subarray(0, 1024);
      fail(
        new WsHandshakeError(
          `The server answered HTTP ${h.statusCode} ${peerText(h.statusText)} instead of 101 Switching Protocols: ${JSON.stringify(b.toString('utf8', 0, 200))}. Check the URL path, credentials and headers.`,
          { statusCode: h.statusCode, headers: h.headers, body: b },
        ),
      );
    };
    const onData = (chunk: Buffer) => {
      if (head) {
        body.push(chunk);
        bodyLen += chunk.length;
        if (bodyLen >= 1024) statusError();
        return;
      }
      let r: ReturnType<ResponseParser['push']>;
      try {
        r = parser.push(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (!r) return;
      head = r.head;
      s.log('response %d %s', head.statusCode, peerText(head.statusText));
      if (head.statusCode === 101) {
        cleanup();
        stream.pause();
        resolve({ stream, head, key, rest: r.rest });
        return;
      }
      const loc = head.headers.location;
      if (s.limits.followRedirects && [301, 302, 303, 307, 308].includes(head.statusCode) && loc) {
        cleanup();
        stream.destroy();
        resolve({ redirect: loc });
        return;
      }
      body = r.rest.length ? [r.rest] : [];
      bodyLen = r.rest.length;
      const clen = Number(head.headers['content-length'] ?? NaN);
      if (bodyLen >= 1024 || bodyLen >= clen) return statusError();
      // Give the body a moment to arrive so the error can show its start.
      bodyTimer = setTimeout(statusError, 300);
    };
    const onEnd = () => {
      if (head) return statusError();
      fail(new WsHandshakeError(`The server closed the connection during the websocket handshake with ${s.url}`));
    };
    const onError = (err: Error) =>
      fail(new WsConnectError(`Stream error during the handshake: ${err.message}`, { cause: err }));
    const onAbort = () => fail(signal.reason as Error);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    // Explicit UTF-8: a stream's default encoding could map a character above U+00FF onto CR or LF.
    stream.write(Buffer.from(request, 'utf8'));
  });
}
