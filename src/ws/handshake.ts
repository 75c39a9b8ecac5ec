import { createHash, randomBytes } from 'node:crypto';
import { WS_GUID } from './constants.js';
import { WsHandshakeError, WsUrlError } from './errors.js';
import { checkHeaderValue, checkHeaders, checkProtocols } from './headers.js';
import type { WsTarget } from './url.js';

/** A fresh random 16-byte key, base64 (RFC 6455 §4.1). */
export function makeKey(): string {
  return randomBytes(16).toString('base64');
}

/** The `Sec-WebSocket-Accept` a server must answer for `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
}

export interface RequestParts {
  target: WsTarget;
  key: string;
  origin?: string | undefined;
  protocols?: readonly string[] | undefined;
  extensions?: string | undefined;
  /** Already validated user headers. */
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
}

/**
 * The opening handshake request, one string (some servers mishandle a request split over writes).
 * Every piece is checked again here, whatever the caller validated: this is the one place the
 * request head is assembled, so no input can add, end or split a header line. Throws
 * {@link WsUrlError} for a request target or Host that is not printable ASCII without spaces, and
 * {@link WsHeaderError} for a header name, value, subprotocol or extension offer that cannot be sent.
 */
export function buildRequest(p: RequestParts): string {
  const { path, hostHeader } = p.target;
  if (typeof path !== 'string' || !/^\/[\x21-\x7e]*$/.test(path)) {
    throw new WsUrlError(
      `The request path ${JSON.stringify(String(path)).slice(0, 80)} is not printable ASCII starting with "/": percent-encode it (the URL parser does this)`,
    );
  }
  if (typeof hostHeader !== 'string' || !/^[\x21-\x7e]+$/.test(hostHeader)) {
    throw new WsUrlError(
      `The Host header ${JSON.stringify(String(hostHeader)).slice(0, 80)} is not printable ASCII: use a host name in punycode or an IP literal`,
    );
  }
  checkHeaderValue('Sec-WebSocket-Key', p.key);
  const headers = checkHeaders(p.headers ?? []);
  const protocols = checkProtocols(p.protocols ?? []);
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostHeader}`];
  const userHas = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  for (const [n, v] of headers) lines.push(`${n}: ${v}`);
  lines.push('Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${p.key}`, 'Sec-WebSocket-Version: 13');
  if (p.target.authorization && !userHas('authorization')) {
    checkHeaderValue('the Authorization derived from the URL', p.target.authorization);
    lines.push(`Authorization: ${p.target.authorization}`);
  }
  if (p.origin !== undefined && !userHas('origin')) {
    checkHeaderValue('the origin option', p.origin);
    lines.push(`Origin: ${p.origin}`);
  }
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(', ')}`);
  if (p.extensions) {
    checkHeaderValue('the extension offer', p.extensions);
    lines.push(`Sec-WebSocket-Extensions: ${p.extensions}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A parsed HTTP response head. */
export interface ResponseHead {
  httpVersion: string;
  statusCode: number;
  statusText: string;
  /**
   * Lower-case names; repeated headers joined with ", ". A null-prototype object: a peer's
   * `constructor` or `__proto__` header is an own property like any other (use `Object.hasOwn`,
   * not `in`).
   */
  headers: Record<string, string>;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Incremental parser for the handshake response head: feed chunks until it returns the head and
 * the bytes that followed it (a server may send its first frame in the same packet).
 *
 * Work is linear in the bytes fed, however they are chunked: each chunk is searched once for the
 * blank line (plus a seam of 3 bytes before it, for a terminator split across chunks), and the
 * chunks are joined once, when the head is complete. A head trickling in byte by byte over a slow
 * modem link must not cost a re-join of everything so far on every byte.
 */
export class ResponseParser {
  private readonly maxBytes: number;
  private chunks: Buffer[] = [];
  private size = 0;
  /** The last (at most 3) bytes fed, copied: the start of a terminator that the next chunk may finish. */
  private tail = Buffer.alloc(0);

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Returns null until the head is complete. Throws {@link WsHandshakeError} on malformed or oversized input. */
  push(chunk: Buffer): { head: ResponseHead; rest: Buffer } | null {
    if (chunk.length === 0) return null;
    const before = this.size;
    // Absolute offset of the first CRLFCRLF, if it ends in this chunk.
    let end = -1;
    if (this.tail.length > 0) {
      // The tail alone is shorter than the terminator, so a match here ends inside this chunk.
      const seam = Buffer.concat([this.tail, chunk.subarray(0, HEAD_END.length - 1)]);
      const i = seam.indexOf(HEAD_END);
      if (i >= 0) end = before - this.tail.length + i;
    }
    if (end < 0) {
      const i = chunk.indexOf(HEAD_END);
      if (i >= 0) end = before + i;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (end < 0) {
      if (this.size > this.maxBytes) {
        throw new WsHandshakeError(
          `The handshake response head exceeds ${this.maxBytes} bytes without ending: this is not a websocket server (or raise maxHeaderBytes)`,
        );
      }
      const keep = HEAD_END.length - 1;
      this.tail =
        chunk.length >= keep
          ? Buffer.from(chunk.subarray(chunk.length - keep))
          : Buffer.concat([this.tail, chunk]).subarray(-keep);
      return null;
    }
    if (end + 4 > this.maxBytes) {
      throw new WsHandshakeError(
        `The handshake response head exceeds ${this.maxBytes} bytes: raise maxHeaderBytes if the server really sends that much`,
      );
    }
    const all = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    this.tail = Buffer.alloc(0);
    const head = parseHead(all.subarray(0, end).toString('latin1'));
    return { head, rest: all.subarray(end + 4) };
  }
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!status) {
    throw new WsHandshakeError(
      `The server did not answer with HTTP (first line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}): check the URL's host, port and scheme`,
    );
  }
  // The names come from the peer: no prototype, so none of them can collide with Object's members.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) {
      throw new WsHandshakeError(
        `Malformed header line in the handshake response: ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value;
  }
  return { httpVersion: status[1]!, statusCode: Number(status[2]), statusText: status[3] ?? '', headers };
}

/**
 * A peer's text (status text, a header value) for an error message or a trace: at most `max`
 * characters, control characters (C0, DEL, C1) and bidirectional overrides escaped, so a server
 * cannot put terminal escape sequences into what a program prints.
 */
export function peerText(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** What the validated 101 answer settled. */
export interface HandshakeResult {
  protocol: string;
  extensions: string | undefined;
}

function tokens(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** Checks a 101 answer against our request (RFC 6455 §4.1, client steps 1–6). */
export function validateUpgrade(head: ResponseHead, key: string, offeredProtocols: readonly string[]): HandshakeResult {
  const h = head.headers;
  const fail = (what: string) =>
    new WsHandshakeError(`Invalid websocket handshake response: ${what}`, { statusCode: head.statusCode, headers: h });
  if (head.httpVersion !== '1.1') throw fail(`HTTP/${head.httpVersion} instead of HTTP/1.1`);
  if (!tokens(h.upgrade).includes('websocket'))
    throw fail(`"Upgrade: ${peerText(h.upgrade ?? '')}" instead of "Upgrade: websocket"`);
  if (!tokens(h.connection).includes('upgrade'))
    throw fail(`"Connection: ${peerText(h.connection ?? '')}" instead of "Connection: Upgrade"`);
  const expected = acceptFor(key);
  if (h['sec-websocket-accept'] !== expected) {
    throw fail(
      `Sec-WebSocket-Accept is ${JSON.stringify(h['sec-websocket-accept'] ?? null)}, expected ${expected} (a proxy may be answering instead of the server)`,
    );
  }
  const protocol = h['sec-websocket-protocol'];
  if (protocol !== undefined) {
    if (!offeredProtocols.includes(protocol))
      throw fail(`the server chose subprotocol "${peerText(protocol)}", which we did not offer`);
  }
  // A server may decline every offered subprotocol: the caller then sees protocol === ''.
  return { protocol: protocol ?? '', extensions: h['sec-websocket-extensions'] };
}
