import { WsHeaderError } from './errors.js';

/** RFC 9110 token characters (header names, subprotocol names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers the handshake owns: a user value would break or spoof it. */
const RESERVED = new Set([
  'host',
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
  'transfer-encoding',
]);

/** Header names whose values never reach a trace. */
const SECRET = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

export function isSecretHeader(name: string): boolean {
  return SECRET.has(name.toLowerCase());
}

/**
 * Validates user headers. Names must be HTTP tokens and not handshake headers; values must not
 * hold CR, LF or NUL (header injection). Returns them as [name, value] pairs in order.
 */
export function checkHeaders(input: Record<string, string | number> | ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const pairs: Array<[string, string]> = Array.isArray(input)
    ? input.map(([n, v]) => [n, v] as [string, string])
    : Object.entries(input).map(([n, v]) => [n, String(v)] as [string, string]);
  for (const [name, value] of pairs) {
    if (!isToken(name)) throw new WsHeaderError(`Header name ${JSON.stringify(name)} is not an HTTP token: use letters, digits and !#$%&'*+-.^_\`|~ only`);
    if (RESERVED.has(name.toLowerCase())) {
      throw new WsHeaderError(`Header "${name}" is set by the websocket handshake and cannot be overridden (use the protocols / perMessageDeflate options instead)`);
    }
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw new WsHeaderError(`The value of header "${name}" contains CR, LF or NUL: remove them (they would inject headers)`);
    }
  }
  return pairs;
}

/**
 * Parses the LuatOS string form (`"Name: value\r\n..."`, CRLF or LF separated) into pairs, with the
 * same checks as {@link checkHeaders}.
 */
export function parseHeaderString(text: string): Array<[string, string]> {
  if (text.includes('\0')) throw new WsHeaderError('The header string contains NUL: remove it');
  const pairs: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new WsHeaderError(`Header line ${JSON.stringify(line)} has no "Name:" part: write "Name: value\\r\\n"`);
    if (line.includes('\r')) throw new WsHeaderError(`Header line ${JSON.stringify(line)} contains a bare CR`);
    pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return checkHeaders(pairs);
}

/** Renders headers for a trace with secrets replaced. */
export function redactHeaders(block: string): string {
  return block.replace(/^(authorization|proxy-authorization|cookie)\s*:.*$/gim, '$1: [redacted]');
}
