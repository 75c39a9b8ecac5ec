/** Human-readable renderings used by several commands. */
import { redactLine, redactQuery } from '../at/trace.js';

/** `▂▄▆█` style bars for 0–5 bars. */
export function barGlyphs(bars: number): string {
  const n = Math.max(0, Math.min(5, Math.round(bars)));
  return '▁▂▃▅▇'.slice(0, n).padEnd(5, '·');
}

/** A JSON-ish value as one short line. */
export function short(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Bytes as a printable line: text when it is printable UTF-8, else hex. */
export function printable(data: Buffer): string {
  const text = data.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(text, 'utf8').equals(data) && !/[\x00-\x08\x0e-\x1f\x7f]/.test(text)) return text;
  return `<${data.length} bytes: ${data.subarray(0, 64).toString('hex')}${data.length > 64 ? '…' : ''}>`;
}

/**
 * Characters a terminal may act on rather than show: C0 controls but TAB and LF (ESC starts
 * sequences that set the title, write the clipboard (OSC 52), move the cursor; CR and BS overwrite
 * what is shown), DEL, the C1 controls U+0080–U+009F (8-bit CSI/OSC on some terminals) and the
 * bidirectional overrides that reorder what is shown (Trojan Source).
 */
// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the network made safe for a terminal: every character a terminal may act on
 * ({@link TERMINAL_CONTROL}) written as an escape, `\x1b`, `\r`, `\u009b`, `\u202e`, as
 * {@link printable} shows binary. TAB and LF stay.
 */
export function terminalText(text: string): string {
  if (!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text)) return text;
  return text.replace(TERMINAL_CONTROL, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\r') return '\\r';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * The URL for status output: each query value (often a token) replaced by `***`, names and path
 * kept, and any userinfo password hidden. A URL that does not parse is shown up to its query.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\?.*$/s, '?***');
  }
  if (u.password) u.password = '***';
  u.hash = '';
  return redactQuery(u.toString());
}

/**
 * Every ws:// or wss:// URL inside a message, redacted as in {@link redactUrl}. A URL with
 * nothing to hide (no query, no userinfo) is left as written: parsing would normalise it
 * (`ws://h` → `ws://h/`) and change a message that quotes what the user typed.
 */
export function redactUrls(text: string): string {
  return text.replace(/wss?:\/\/[^\s'"<>]+/gi, (m) => (/[?@]/.test(m) ? redactUrl(m) : m));
}

/**
 * An AT command with its argument list (quoted strings hold no `"`: atString refuses it), found
 * anywhere in a text: library errors quote the command they were about (`AT+CSTT="apn","u","pw"
 * failed: +CME ERROR 3`), and the CLI prints them.
 */
const AT_COMMAND_IN_TEXT = /AT[+^][A-Za-z]+=(?:"[^"\r\n]*"|[^,\s"]*)(?:,(?:"[^"\r\n]*"|[^,\s"]*))*/gi;

/**
 * A text for the user's screen with secrets masked: the password/PIN arguments of AT commands
 * quoted in it (as in the AT traces) and ws:// URLs as in {@link redactUrls}.
 */
export function redactSecrets(text: string): string {
  return redactUrls(text.replace(AT_COMMAND_IN_TEXT, (m) => redactLine(m)));
}
