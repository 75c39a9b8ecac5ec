/**
 * The client messages of SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929),
 * parsed from the bytes received so far: each parser says `more` (a valid prefix), `bad` (with
 * the reply the RFC prescribes, if any) or `ok` with what it read and how many bytes that took.
 * Every message has a fixed maximum size (greeting 257, auth 513, request 262 bytes), so a
 * connection never buffers more than that before it is answered.
 */

export const SOCKS_VERSION = 0x05;
export const AUTH_VERSION = 0x01;

/** Authentication methods (RFC 1928 §3). */
export const METHOD_NONE = 0x00;
export const METHOD_USERPASS = 0x02;
export const METHOD_NO_ACCEPTABLE = 0xff;

/** Commands (RFC 1928 §4). */
export const CMD_CONNECT = 0x01;

/** Address types (RFC 1928 §4). */
export const ATYP_IPV4 = 0x01;
export const ATYP_DOMAIN = 0x03;
export const ATYP_IPV6 = 0x04;

/** Reply codes (RFC 1928 §6). */
export const REP = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** Largest message of each kind (a longer buffer holds a complete one, or is invalid). */
export const MAX_GREETING = 2 + 255;
export const MAX_AUTH = 3 + 255 + 255;
export const MAX_REQUEST = 4 + 1 + 255 + 2;

export type Parsed<T> =
  | { kind: 'more' }
  | { kind: 'bad'; reason: string; reply?: Buffer }
  | { kind: 'ok'; value: T; length: number };

const more = { kind: 'more' } as const;

/** A reply to a request (RFC 1928 §6) with BND.ADDR 0.0.0.0:0: the module's address is no use to a client. */
export function socksReply(rep: number): Buffer {
  return Buffer.from([SOCKS_VERSION, rep, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}

/** VER NMETHODS METHODS… → the methods offered. */
export function parseGreeting(b: Buffer): Parsed<number[]> {
  if (b.length < 1) return more;
  if (b[0] !== SOCKS_VERSION)
    return { kind: 'bad', reason: `not SOCKS5 (version byte 0x${b[0]!.toString(16).padStart(2, '0')})` };
  if (b.length < 2) return more;
  const n = b[1]!;
  if (n === 0)
    return {
      kind: 'bad',
      reason: 'greeting offers no method',
      reply: Buffer.from([SOCKS_VERSION, METHOD_NO_ACCEPTABLE]),
    };
  if (b.length < 2 + n) return more;
  return { kind: 'ok', value: [...b.subarray(2, 2 + n)], length: 2 + n };
}

/** VER ULEN UNAME PLEN PASSWD (RFC 1929) → the credentials, as bytes. */
export function parseUserPass(b: Buffer): Parsed<{ user: Buffer; pass: Buffer }> {
  const refuse = Buffer.from([AUTH_VERSION, 0x01]);
  if (b.length < 1) return more;
  if (b[0] !== AUTH_VERSION) return { kind: 'bad', reason: `bad auth version 0x${b[0]!.toString(16)}`, reply: refuse };
  if (b.length < 2) return more;
  const ulen = b[1]!;
  if (ulen === 0) return { kind: 'bad', reason: 'empty user name', reply: refuse };
  if (b.length < 2 + ulen + 1) return more;
  const plen = b[2 + ulen]!;
  if (plen === 0) return { kind: 'bad', reason: 'empty password', reply: refuse };
  const length = 3 + ulen + plen;
  if (b.length < length) return more;
  return { kind: 'ok', value: { user: b.subarray(2, 2 + ulen), pass: b.subarray(3 + ulen, length) }, length };
}

/** A CONNECT destination, as the client gave it. */
export interface SocksRequest {
  command: number;
  /** `ipv4`/`ipv6` addresses in their usual text form; `domain` as sent (checked printable ASCII). */
  type: 'ipv4' | 'domain' | 'ipv6';
  host: string;
  port: number;
}

function ipv6Text(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(':');
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT → the request; bad ones carry the reply code to send. */
export function parseRequest(b: Buffer): Parsed<SocksRequest> {
  if (b.length < 1) return more;
  if (b[0] !== SOCKS_VERSION)
    return { kind: 'bad', reason: `request version 0x${b[0]!.toString(16)}`, reply: socksReply(REP.generalFailure) };
  if (b.length < 4) return more;
  const command = b[1]!;
  const atyp = b[3]!;
  let addrLen: number;
  let start = 4;
  if (atyp === ATYP_IPV4) addrLen = 4;
  else if (atyp === ATYP_IPV6) addrLen = 16;
  else if (atyp === ATYP_DOMAIN) {
    if (b.length < 5) return more;
    addrLen = b[4]!;
    start = 5;
    if (addrLen === 0) return { kind: 'bad', reason: 'empty domain name', reply: socksReply(REP.hostUnreachable) };
  } else
    return {
      kind: 'bad',
      reason: `address type 0x${atyp.toString(16)}`,
      reply: socksReply(REP.addressTypeNotSupported),
    };
  const length = start + addrLen + 2;
  if (b.length < length) return more;
  const addr = b.subarray(start, start + addrLen);
  const port = b.readUInt16BE(start + addrLen);
  let host: string;
  let type: SocksRequest['type'];
  if (atyp === ATYP_IPV4) [type, host] = ['ipv4', [...addr].join('.')];
  else if (atyp === ATYP_IPV6) [type, host] = ['ipv6', ipv6Text(addr)];
  else {
    type = 'domain';
    // A name goes into an AT command: printable ASCII only (the AT layer refuses quotes too).
    if (!addr.every((c) => c > 0x20 && c < 0x7f))
      return {
        kind: 'bad',
        reason: 'domain name with control, space or non-ASCII bytes',
        reply: socksReply(REP.hostUnreachable),
      };
    host = addr.toString('latin1');
  }
  if (command !== CMD_CONNECT)
    return {
      kind: 'bad',
      reason: `command 0x${command.toString(16)} (only CONNECT)`,
      reply: socksReply(REP.commandNotSupported),
    };
  if (port === 0) return { kind: 'bad', reason: 'port 0', reply: socksReply(REP.hostUnreachable) };
  return { kind: 'ok', value: { command, type, host, port }, length };
}
