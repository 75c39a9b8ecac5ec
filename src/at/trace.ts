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
