/**
 * Readable renderings of the bytes on the wire for `debug` tracing: control bytes escaped,
 * secrets redacted, large payloads summarised.
 */

/** Render bytes as text with `\r`, `\n`, `\xNN` escapes. */
export function escapeBytes(bytes: Buffer, max = Infinity): string {
  const n = Math.min(bytes.length, max);
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Escape a chunk; beyond `limit` bytes show the head and tail and the total. */
export function summarize(bytes: Buffer, limit = 160): string {
  if (bytes.length <= limit) return escapeBytes(bytes);
  const head = escapeBytes(bytes.subarray(0, limit - 32));
  const tail = escapeBytes(bytes.subarray(bytes.length - 32));
  return `${head}…[${bytes.length - limit} bytes]…${tail} (${bytes.length} bytes)`;
}

/**
 * A URL or request target for a trace or an error message: every query value replaced by `***`
 * (tokens are often passed as `?token=...`), names kept: `/p?token=***&v=***`. A parameter without
 * `=` is masked whole. The fragment is dropped (it is never sent).
 */
export function redactQuery(urlOrPath: string): string {
  const hash = urlOrPath.indexOf('#');
  const u = hash < 0 ? urlOrPath : urlOrPath.slice(0, hash);
  const q = u.indexOf('?');
  if (q < 0) return u;
  const params = u
    .slice(q + 1)
    .split('&')
    .map((p) => {
      if (p === '') return p;
      const eq = p.indexOf('=');
      return eq < 0 ? '***' : `${p.slice(0, eq)}=***`;
    });
  return `${u.slice(0, q)}?${params.join('&')}`;
}

const REQUEST_LINE = /^([A-Z]{3,10}) (\S+) (HTTP\/1\.[01])\r?\n/;
/** A payload that starts like a request line: method, space, the first byte of the target. */
const REQUEST_START = /^([A-Z]{3,10}) [\x21-\x7e]/;
/** Bytes that may still become {@link REQUEST_START}: a method so far, maybe its space. */
const REQUEST_PREFIX = /^[A-Z]{1,10} ?$/;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

type StreamState = { prefix: Buffer } | { carry: Buffer };

/**
 * Renders the payloads written for each destination (a link's `AT+CIPSEND`) for the trace. An
 * HTTP request head (a websocket upgrade over a plain link) carries credentials — a token in the
 * query, `Authorization`, cookies, API-key headers of any name — and a head longer than one send
 * (1460 bytes: a large JWT or cookie) is split over several payloads. So from a payload that starts
 * a request up to the blank line that ends it, whatever the chunking, only the request line's
 * method, path and masked query are shown, and byte counts. Anything else is summarised as it is.
 *
 * State is kept per destination key (at most a few: one per link) only while a head is open or a
 * method may be starting; a destination whose head never ends stays untraced until its next
 * request or blank line, which errs on the side of hiding.
 */
export class PayloadTrace {
  private readonly streams = new Map<string, StreamState>();

  render(key: string, bytes: Buffer, limit = 64): string {
    const state = this.streams.get(key);
    this.streams.delete(key);
    // Inside a head every byte is part of it, even one that looks like a request line (a value
    // cut at a space): only the blank line ends it.
    if (state && 'carry' in state) return `… ${this.headPart(key, state.carry, bytes)}`;
    const seen = state && 'prefix' in state ? Buffer.concat([state.prefix, bytes]) : bytes;
    const start = seen.toString('latin1', 0, Math.min(seen.length, 12));
    const m = REQUEST_START.exec(start);
    if (m) {
      const text = seen.toString('latin1', 0, Math.min(seen.length, 8192));
      const full = REQUEST_LINE.exec(text);
      const line = full
        ? `${full[1]} ${escapeBytes(Buffer.from(redactQuery(full[2]!), 'latin1'))} ${full[3]}\\r\\n`
        : `${m[1]} ${escapeBytes(Buffer.from(redactQuery(text.slice(m[1]!.length + 1).split(/[\s]/, 1)[0]!), 'latin1'))}…`;
      return `${line}… ${this.headPart(key, Buffer.alloc(0), seen)}`;
    }
    if (seen.length < 12 && REQUEST_PREFIX.test(start)) {
      this.streams.set(key, { prefix: Buffer.from(seen) });
      return `${escapeBytes(seen)} (may start a request head: held back)`;
    }
    return summarize(seen, limit);
  }

  /** The part of a request head in `bytes` (after `carry`, the last bytes of the head so far). */
  private headPart(key: string, carry: Buffer, bytes: Buffer): string {
    const joined = Buffer.concat([carry, bytes]);
    const at = joined.indexOf(HEAD_END);
    if (at < 0) {
      this.streams.set(key, { carry: Buffer.from(joined.subarray(Math.max(0, joined.length - 3))) });
      return `(request head, ${bytes.length} bytes; headers not traced; continues)`;
    }
    const inHead = at + HEAD_END.length - carry.length;
    const after = bytes.length - inHead;
    return `(request head, ${inHead} bytes; headers not traced${carry.length > 0 ? '; its end' : ''}${after > 0 ? `; ${after} bytes after it not traced` : ''})`;
  }
}

/**
 * One payload for the trace, on its own (no state: a head split over several payloads is shown
 * whole only by {@link PayloadTrace}, which the AT channel uses).
 */
export function summarizePayload(bytes: Buffer, limit = 64): string {
  return new PayloadTrace().render('', bytes, limit);
}

/**
 * Which comma-separated argument positions (0-based) of a command hold a secret. Commands not
 * listed carry none.
 */
const SECRET_ARGS: Readonly<Record<string, readonly number[]>> = {
  '+CSTT': [2], // apn, user, password
  '+CIPCSGP': [3], // mode, apn, user, password
  '+CPNETAPN': [3], // mode, apn, user, password, auth
  '+CGAUTH': [3], // cid, type, user, password
  '+CPIN': [0, 1], // pin, new pin
  '+CPWD': [1, 2],
  '+CLCK': [2],
  '+MCONFIG': [2], // client id, user, password
};

/** Split an argument list on commas outside double quotes. */
function splitArgs(args: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of args) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

function redactArgs(prefix: string, args: string, positions: readonly number[]): string {
  const parts = splitArgs(args);
  for (const p of positions) if (p < parts.length && parts[p] !== '') parts[p] = '"***"';
  return prefix + parts.join(',');
}

/**
 * Redact secrets in a command line or a response line: `AT+CSTT="apn","u","pw"` →
 * `AT+CSTT="apn","u","***"`; also the `+CSTT: …` query answer and `AT+SAPBR=3,1,"PWD",…`.
 */
export function redactLine(line: string): string {
  const cmd = /^(AT([+^][A-Za-z]+)=)(.*)$/is.exec(line);
  if (cmd) {
    const name = cmd[2]!.toUpperCase();
    const pos = SECRET_ARGS[name];
    if (pos) return redactArgs(cmd[1]!, cmd[3]!, pos);
    if (name === '+SAPBR' && /"PWD"/i.test(cmd[3]!)) return redactArgs(cmd[1]!, cmd[3]!, [3]);
    return line;
  }
  const resp = /^(\+(?:CSTT|CGAUTH): ?)(.*)$/.exec(line);
  if (resp) return redactArgs(resp[1]!, resp[2]!, resp[1]!.startsWith('+CSTT') ? [2] : [3]);
  return line;
}

/** Redact every line inside an escaped trace string (lines split on the `\r` / `\n` escapes). */
export function redactEscaped(escaped: string): string {
  if (!/CSTT|CGAUTH|CIPCSGP|CPNETAPN|CPIN=|CPWD|CLCK|MCONFIG|SAPBR/i.test(escaped)) return escaped;
  return escaped
    .split(/(\\r|\\n)/)
    .map((part) => (part === '\\r' || part === '\\n' ? part : redactLine(part)))
    .join('');
}
