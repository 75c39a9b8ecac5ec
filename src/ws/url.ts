import { WsUrlError } from './errors.js';
import { redactQuery } from '../at/trace.js';

/** A websocket endpoint, parsed from a `ws://` or `wss://` URL. */
export interface WsTarget {
  secure: boolean;
  /** Host for DNS / connect: IPv6 literals without brackets, international names in punycode. */
  host: string;
  port: number;
  /** Request target: path and query (the fragment is never sent). */
  path: string;
  /** Value of the `Host` header: port only when not the default, IPv6 in brackets. */
  hostHeader: string;
  /** Server name for TLS SNI (empty for IP literals, where SNI must not be sent). */
  servername: string;
  /** `Basic ...` from URL userinfo, if any. */
  authorization: string | undefined;
  /** The URL with any password removed, for traces and errors. */
  display: string;
}

/**
 * Parses a websocket URL with the WHATWG parser. Throws {@link WsUrlError} for other schemes, a
 * missing host or anything the parser refuses. `http(s)` is accepted only for redirect targets
 * (`allowHttp`), mapped to `ws(s)`.
 */
export function parseWsUrl(input: string | URL, options: { allowHttp?: boolean } = {}): WsTarget {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : new URL(input.href);
  } catch (err) {
    // No cause: the parser's TypeError holds the raw input (its `input`), password and token with it.
    const code = (err as { code?: unknown }).code;
    throw new WsUrlError(
      `"${unparsedUrlShown(String(input))}" is not a valid URL${typeof code === 'string' ? ` (${code})` : ''}: write it as ws://host[:port]/path or wss://...`,
    );
  }
  let protocol = url.protocol;
  if (options.allowHttp && (protocol === 'http:' || protocol === 'https:'))
    protocol = protocol === 'http:' ? 'ws:' : 'wss:';
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new WsUrlError(`Unsupported URL scheme "${url.protocol}" in ${shown(url)}: use ws:// or wss://`);
  }
  if (url.hostname === '') throw new WsUrlError(`The URL ${shown(url)} has no host: use ws://host[:port]/path`);
  const secure = protocol === 'wss:';
  const defaultPort = secure ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const ipv6 = url.hostname.startsWith('[');
  const host = ipv6 ? url.hostname.slice(1, -1) : url.hostname;
  const isIp = ipv6 || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } catch (err) {
      // A %-escape that is not UTF-8 (e.g. %E0 alone): no credentials can be derived from it.
      throw new WsUrlError(
        `The user name or password in ${shown(url)} has a %-escape that is not UTF-8: percent-encode the credentials with encodeURIComponent`,
        { cause: err },
      );
    }
    authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return {
    secure,
    host,
    port,
    path: (url.pathname || '/') + url.search,
    hostHeader: port === defaultPort ? url.hostname : `${url.hostname}:${port}`,
    servername: isIp ? '' : host,
    authorization,
    display: redact(url, protocol),
  };
}

/**
 * Text that did not parse as a URL, for an error message: query values masked, and everything
 * before the last `@` of the authority (a user name and password, which may themselves hold `/`,
 * `@` or spaces) shown as `***`.
 */
export function unparsedUrlShown(text: string): string {
  return redactUrl(text).replace(
    /^([a-z][a-z0-9+.-]*:\/*)?[^?#]*@/i,
    (_m, scheme: string | undefined) => `${scheme ?? ''}***@`,
  );
}

/** The URL for an error message: password and query values masked. */
function shown(url: URL): string {
  return redactUrl(redact(url));
}

function redact(url: URL, protocol = url.protocol): string {
  const u = new URL(url.href);
  if (u.password !== '') u.password = '***';
  u.hash = '';
  return u.href.replace(/^[a-z]+:/, protocol);
}

/** The query-masking rendering of a URL or request target for traces and errors (see `redactQuery`). */
export const redactUrl: (urlOrPath: string) => string = redactQuery;
