import { WsHeaderError, WsOptionError } from './errors.js';
import { redactUrl } from './url.js';

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

/**
 * Header names known to carry credentials (lower case). With {@link SECRET_NAME}, the names whose
 * values a trace shows as `[redacted]`. Which headers follow a redirect to another origin is not
 * decided by name: none of the user's do, unless listed in `redirectHeaders` (src/ws/opening.ts).
 */
const SECRET = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-user',
  'ocp-apim-subscription-key',
]);

/** Words in a header name that mark it as a credential: `X-Token`, `Access-Token`, `X-Access-Key`, … */
const SECRET_NAME = /auth|token|key|secret|passw|pwd|session|cookie|credential|signature|csrf|xsrf|jwt|bearer/i;

/** An HTTP authentication scheme at the start of a value (RFC 9110 §11 and common ones). */
const CREDENTIAL_SCHEME =
  /^\s*(bearer|basic|digest|negotiate|ntlm|token|apikey|api-key|hoba|mutual|vapid|aws4-hmac-sha256|scram-sha-\d+|gsslogin)\b/i;
/** A JSON Web Token (header and payload are base64url JSON: `eyJ…`). */
const JWT = /eyJ[\w-]{4,}\.[\w-]{4,}/;
/** A run of token characters long enough to be a key: 20 or more, letters and digits mixed. */
const OPAQUE_RUN = /[A-Za-z0-9+/_~.=-]{20,}/g;

/** True for a credential header name (case-insensitive): see SECRET and SECRET_NAME. */
export function isSecretHeader(name: string): boolean {
  return SECRET.has(name.toLowerCase()) || SECRET_NAME.test(name);
}

/**
 * True for a header value that looks like a credential whatever its header's name: an
 * authentication scheme, a JWT, or a long run of mixed letters and digits (API keys, hex or base64
 * tokens, UUIDs). Errs on the side of hiding: a trace loses a harmless value at worst.
 */
export function looksSecret(value: string): boolean {
  if (CREDENTIAL_SCHEME.test(value) || JWT.test(value)) return true;
  for (const run of value.match(OPAQUE_RUN) ?? []) if (/\d/.test(run) && /[A-Za-z]/.test(run)) return true;
  return false;
}

/**
 * Validates the `redirectHeaders` option: the names of user headers that may still be sent after a
 * redirect to another origin (none by default). Returns them lower-cased. Throws
 * {@link WsOptionError} (`ERR_WS_BAD_OPTION`) for anything but an array of header names.
 */
export function checkRedirectHeaders(input: unknown): Set<string> {
  if (input === undefined) return new Set();
  if (!Array.isArray(input) || !input.every((n) => typeof n === 'string' && isToken(n))) {
    throw new WsOptionError(
      `The redirectHeaders option must be an array of header names (e.g. ['X-Request-Id']), not ${describe(input)}`,
    );
  }
  return new Set((input as string[]).map((n) => n.toLowerCase()));
}

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** User headers: an object `{ Name: value }` or `[name, value]` pairs (values may be numbers). */
export type HeaderInput = Record<string, string | number> | ReadonlyArray<readonly [string, string | number]>;

/**
 * Validates user headers. Names must be strings that are HTTP tokens and not handshake headers;
 * values must be strings (or finite numbers, sent in decimal) without CR, LF or NUL (header
 * injection). Returns them as [name, value] pairs in order. Throws {@link WsHeaderError}
 * (`ERR_WS_BAD_HEADER`) for anything else, JavaScript callers' wrong types included.
 */
export function checkHeaders(input: HeaderInput): Array<[string, string]> {
  const raw: Array<readonly [unknown, unknown]> = [];
  if (Array.isArray(input)) {
    for (const entry of input as readonly unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new WsHeaderError(
          `Header entry ${describe(entry)} is not a [name, value] pair: pass headers as [["Name", "value"], ...] or { Name: "value" }`,
        );
      }
      raw.push([entry[0], entry[1]]);
    }
  } else if (isPlainObject(input)) {
    raw.push(...Object.entries(input));
  } else {
    throw new WsHeaderError(
      `Headers must be an object { Name: "value" } or an array of [name, value] pairs, not ${describe(input)}`,
    );
  }
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of raw) {
    if (typeof name !== 'string') throw new WsHeaderError(`A header name must be a string, not ${describe(name)}`);
    if (!isToken(name))
      throw new WsHeaderError(
        `Header name ${describe(name)} is not an HTTP token: use letters, digits and !#$%&'*+-.^_\`|~ only`,
      );
    if (RESERVED.has(name.toLowerCase())) {
      throw new WsHeaderError(
        `Header "${name}" is set by the websocket handshake and cannot be overridden (use the protocols / perMessageDeflate options instead)`,
      );
    }
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
    else
      throw new WsHeaderError(
        `The value of header "${name}" must be a string or a finite number, not ${describe(value)}`,
      );
    checkHeaderValue(`header "${name}"`, text);
    pairs.push([name, text]);
  }
  return pairs;
}

/**
 * Throws {@link WsHeaderError} unless `value` can be sent as a header value: a string without
 * control characters other than HTAB (RFC 9110 §5.5). CR, LF and NUL would end the line and
 * inject headers or end the request head; the other control bytes are invalid and some servers
 * split lines on them. `what` names the value in the message (`header "X-A"`, `the origin option`).
 */
export function checkHeaderValue(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string')
    throw new WsHeaderError(`The value of ${what} must be a string, not ${describe(value)}`);
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x08\x0a-\x1f\x7f]/.exec(value);
  if (bad) {
    throw new WsHeaderError(
      `The value of ${what} contains the control character ${JSON.stringify(bad[0])}: remove it (CR, LF and NUL would inject headers; other control characters are not allowed in HTTP)`,
    );
  }
}

/**
 * Validates the subprotocols to offer: strings that are HTTP tokens (RFC 6455 §4.1), each once.
 * Returns them as a new array. Throws {@link WsHeaderError} (`ERR_WS_BAD_HEADER`).
 */
export function checkProtocols(input: unknown): string[] {
  if (input === undefined) return [];
  if (typeof input !== 'string' && !Array.isArray(input)) {
    throw new WsHeaderError(`The protocols option must be a string or an array of strings, not ${describe(input)}`);
  }
  const list: readonly unknown[] = typeof input === 'string' ? [input] : input;
  const seen = new Set<string>();
  for (const p of list) {
    if (typeof p !== 'string') throw new WsHeaderError(`A subprotocol must be a string, not ${describe(p)}`);
    if (!isToken(p)) {
      throw new WsHeaderError(
        `Subprotocol ${describe(p, true)} is not an HTTP token: use letters, digits and !#$%&'*+-.^_\`|~ only, no spaces or commas`,
      );
    }
    if (seen.has(p))
      throw new WsHeaderError(`Subprotocol ${describe(p, true)} is offered twice: list each subprotocol once`);
    seen.add(p);
  }
  return [...seen];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A short, safe rendering of a value of any type for an error message. A string is shown up to its
 * first space, colon or equals sign: a misplaced `Authorization: Bearer T0K` (a string where a pair
 * was expected, a forgotten colon) must not print its credential in an error or a trace. `whole`
 * (subprotocols, where the offending space is the point) shows up to 40 characters.
 */
function describe(v: unknown, whole = false): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string' && whole) return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'string') {
    const cut = /[\s:=]/.exec(v);
    const shown = (cut ? v.slice(0, cut.index) : v).slice(0, 40);
    return shown.length < v.length ? `${JSON.stringify(shown)} (the rest not shown)` : JSON.stringify(v);
  }
  if (typeof v === 'object') return Object.prototype.toString.call(v);
  return `${typeof v} ${String(v)}`;
}

/**
 * Parses the LuatOS string form (`"Name: value\r\n..."`, CRLF or LF separated) into pairs, with the
 * same checks as {@link checkHeaders}.
 */
export function parseHeaderString(text: string): Array<[string, string]> {
  if (typeof text !== 'string') throw new WsHeaderError(`The header string must be a string, not ${describe(text)}`);
  if (text.includes('\0')) throw new WsHeaderError('The header string contains NUL: remove it');
  const pairs: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new WsHeaderError(`Header line ${describe(line)} has no "Name:" part: write "Name: value\\r\\n"`);
    if (line.includes('\r'))
      throw new WsHeaderError(`Header line ${describe(line)} contains a bare CR: end lines with "\\r\\n"`);
    pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return checkHeaders(pairs);
}

/** A subprotocol entry that carries a credential rather than naming a protocol. */
const CREDENTIAL_PROTOCOL = /bearer|token|auth|secret|passw|api[-_.]?key/i;

/**
 * Renders a request head for a trace: the values of credential headers (by name, see
 * {@link isSecretHeader}, or by value, see {@link looksSecret}) replaced, query values masked. Lines
 * are split at CR/LF only: a value may hold U+2028/U+2029, which a `.`/`$` regex would take for
 * the end of the line and print the rest of the value.
 */
export function redactHeaders(block: string): string {
  return block
    .split(/(\r?\n)/)
    .map((line, i) => {
      if (i % 2 === 1) return line; // a separator
      if (i === 0) {
        const m = /^([A-Z]+ )(\S+)( HTTP\/\d\.\d)$/.exec(line);
        return m ? m[1]! + redactUrl(m[2]!) + m[3]! : line;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) return line;
      const name = line.slice(0, colon).trim();
      const lower = name.toLowerCase();
      if (RESERVED.has(lower) && lower !== 'sec-websocket-protocol') return line;
      if (isSecretHeader(name)) return `${name}: [redacted]`;
      // Some services take the token as a subprotocol (Kubernetes:
      // `base64url.bearer.authorization.k8s.io.<token>`): such entries are masked, plain names kept.
      if (lower === 'sec-websocket-protocol') {
        const items = line
          .slice(colon + 1)
          .split(',')
          .map((p) => p.trim());
        return `${name}: ${items.map((p) => (CREDENTIAL_PROTOCOL.test(p) ? '[redacted]' : p)).join(', ')}`;
      }
      // Any other header the user set is judged by its value too: names are not a closed list.
      if (lower !== 'origin' && looksSecret(line.slice(colon + 1))) return `${name}: [redacted]`;
      return line;
    })
    .join('');
}
