/** The proxy's one user name and password, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  user: string;
  pass: string;
}

/** `USER:PASS` (the password may contain ':'); undefined for a malformed value. */
export function parseCredentials(text: string): Credentials | undefined {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) return undefined;
  const user = text.slice(0, i);
  const pass = text.slice(i + 1);
  // RFC 1929 carries each in at most 255 bytes.
  if (Buffer.byteLength(user) > 255 || Buffer.byteLength(pass) > 255) return undefined;
  return { user, pass };
}

const digest = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();

/** True when both match; hashes first, so neither the length nor a prefix leaks through timing. */
export function credentialsMatch(expected: Credentials, user: Buffer | string, pass: Buffer | string): boolean {
  const u = timingSafeEqual(digest(expected.user), digest(user));
  const p = timingSafeEqual(digest(expected.pass), digest(pass));
  return u && p;
}

/** Checks a `Proxy-Authorization` header value (`Basic base64(user:pass)`). */
export function basicMatches(expected: Credentials, header: string | undefined): boolean {
  if (!header) return false;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return false;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return false;
  return credentialsMatch(expected, text.slice(0, i), text.slice(i + 1));
}
