/**
 * Which line ends a command, per command: the standard `OK` / `ERROR` / `+CME ERROR: n`, and the
 * dialect's non-standard finals (`SHUT OK`, bare IP, `<n>, CLOSE OK`, OK-first `AT+CIPSTATUS`,
 * CIPSEND's `DATA ACCEPT` / `SEND OK`). Also the manual's maximum response times.
 */

/**
 * How a line received while a command is in flight relates to that command:
 * - `final`: the final result (success); the response is complete.
 * - `error`: the final result (failure); the command rejects.
 * - `info`: an information line of this command (taken before URC handlers see it).
 * - `done`: an information line that completes the response.
 * - `await`: the final result line, but information lines follow it (`AT+CIPSTATUS`).
 * - `settle`: an information line after which the response is complete unless another one of
 *   this command arrives within the matcher's `settleMs`.
 * - `undefined`: not recognised; URC handlers, then the command's information lines get it.
 */
export type MatchResult = 'final' | 'error' | 'info' | 'done' | 'await' | 'settle' | undefined;

/** Classifies lines for one command. Stateful matchers are created per send. */
export interface FinalMatcher {
  (line: string): MatchResult;
  /** Quiet time that completes a response after a `settle` result. Default 250 ms. */
  settleMs?: number;
}

const RE_CME = /^\+CME ERROR: ?(.*)$/;
const RE_ERRORISH = /^(?:ERROR|\+CME ERROR:.*|\+CMS ERROR:.*)$/;
const RE_IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const RE_IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;

/** `OK`, `ERROR`, `+CME ERROR: n`, `+CMS ERROR: n`: the standard final results. */
export const standardFinal: FinalMatcher = (line) => {
  if (line === 'OK') return 'final';
  if (RE_ERRORISH.test(line)) return 'error';
  return undefined;
};

/** Whether a line is an error final result (ERROR / +CME ERROR / +CMS ERROR). */
export function isErrorFinal(line: string): boolean {
  return RE_ERRORISH.test(line);
}

/** Parse `+CME ERROR: <n>` (numeric, or verbose text with CMEE=2). */
export function parseCme(line: string): { code?: number; text?: string } | undefined {
  const m = RE_CME.exec(line);
  if (!m) return undefined;
  const v = m[1]!.trim();
  return /^\d+$/.test(v) ? { code: Number(v) } : { text: v };
}

/** Upper-case command name without `AT`, e.g. `+CIPSEND` for `AT+CIPSEND=0,5`, `I` for `ATI`. */
export function commandName(command: string): string {
  const m = /^AT([+^&]?[A-Za-z]*)/i.exec(command);
  return m ? m[1]!.toUpperCase() : command.toUpperCase();
}

/**
 * The final-result matcher a command gets unless `AtSendOptions.final` overrides it.
 * `prompt` is true for commands that carry a payload after `> `.
 */
export function defaultFinalMatcher(command: string, prompt: boolean): FinalMatcher {
  // The data path sends the same few commands (`AT+CIPSEND=0,1460`, `AT+CIPRXGET=2,0,1460`)
  // hundreds of times a second; their matchers hold no state, so each is built once.
  if (!DATA_COMMAND.test(command)) return buildFinalMatcher(command, prompt);
  const key = prompt ? `>${command}` : command;
  let m = matcherCache.get(key);
  if (!m) {
    if (matcherCache.size >= MATCHER_CACHE_MAX) matcherCache.clear();
    m = buildFinalMatcher(command, prompt);
    matcherCache.set(key, m);
  }
  return m;
}

/** Commands of the data path whose matchers are stateless and worth keeping (bounded). */
const DATA_COMMAND = /^AT\+(?:CIPSEND|CIPRXGET|CIPACK|CIPCLOSE)=[\d,]*$/;
const MATCHER_CACHE_MAX = 128;
const matcherCache = new Map<string, FinalMatcher>();

function buildFinalMatcher(command: string, prompt: boolean): FinalMatcher {
  const name = commandName(command);
  const upper = command.toUpperCase();
  if (name === '+CIPSHUT') {
    return (line) => (line === 'SHUT OK' ? 'final' : isErrorFinal(line) ? 'error' : undefined);
  }
  if (upper === 'AT+CIFSR') {
    return (line) =>
      RE_IPV4.test(line) || RE_IPV6.test(line) ? 'final' : isErrorFinal(line) ? 'error' : undefined;
  }
  if (name === '+CIPCLOSE') {
    const m = /^AT\+CIPCLOSE=(\d+)/i.exec(command);
    // Multi-link: `<n>, CLOSE OK` for our link; single-link (incl. `=<mode>`): `CLOSE OK`.
    const re = m ? new RegExp(`^(?:${Number(m[1])}, ?)?CLOSE OK$`) : /^CLOSE OK$/;
    return (line) => (re.test(line) ? 'final' : isErrorFinal(line) ? 'error' : undefined);
  }
  if (upper === 'AT+CIPSTATUS') return cipstatusMatcher();
  if (prompt) {
    const m = /^AT\+CIPSEND=(\d+),(\d+)$/i.exec(command);
    const link = m ? Number(m[1]) : undefined;
    const len = m ? Number(m[2]) : undefined;
    const sendOk = link === undefined ? /^SEND OK$/ : new RegExp(`^${link}, ?SEND OK$`);
    // `DATA ACCEPT:<n>,<count>`: the count is what the module took, which the caller credits. A
    // count above the length asked for cannot be true of this send: a failure, not a success.
    const accept = link === undefined ? /^DATA ACCEPT: ?(\d+)$/ : new RegExp(`^DATA ACCEPT: ?${link}, ?(\\d+)$`);
    const sendFail = link === undefined ? /^SEND FAIL$/ : new RegExp(`^${link}, ?SEND FAIL$`);
    return (line) => {
      if (line === 'OK' || sendOk.test(line)) return 'final';
      const a = accept.exec(line);
      if (a) return len === undefined || Number(a[1]) <= len ? 'final' : 'error';
      if (sendFail.test(line) || isErrorFinal(line) || /^TimeOut$/i.test(line)) return 'error';
      return undefined;
    };
  }
  return standardFinal;
}

/**
 * `AT+CIPSTATUS`: `OK` comes first, then `STATE: <s>`, then (multi-link) `C: 0,…` … `C: 5,…`.
 * Single-link-only states end the response at the STATE line; otherwise it ends at `C: 5` or
 * when the C: lines stop.
 */
function cipstatusMatcher(): FinalMatcher {
  let phase: 'ok' | 'state' | 'links' = 'ok';
  const matcher: FinalMatcher = (line) => {
    if (phase === 'ok') {
      if (line === 'OK') {
        phase = 'state';
        return 'await';
      }
      return isErrorFinal(line) ? 'error' : undefined;
    }
    if (phase === 'state') {
      const m = /^STATE: ?(.*)$/.exec(line);
      if (!m) return undefined;
      phase = 'links';
      return SINGLE_ONLY_STATES.test(m[1]!) ? 'done' : 'settle';
    }
    const c = /^C: ?(\d+),/.exec(line);
    if (!c) return undefined;
    return Number(c[1]) >= 5 ? 'done' : 'settle';
  };
  matcher.settleMs = 250;
  return matcher;
}

const SINGLE_ONLY_STATES = /^(?:TCP|UDP) (?:CONNECTING|CLOSING|CLOSED)$|^CONNECT OK$|^SERVER LISTENING$/;

/** Maximum response times from the manual (§1.4), by command name; everything else 9 s. */
const TIMEOUTS_MS: Readonly<Record<string, number>> = {
  '+COPS': 300_000,
  '+CGACT': 108_000,
  '+CGATT': 108_000,
  '+CFUN': 45_000,
  '+CMGS': 90_000,
  '+CMGW': 90_000,
  '+CPBW': 72_000,
  '+CPIN': 180_000,
  '+CSTT': 60_000,
  '+CIICR': 90_000,
  '+CIPSHUT': 90_000,
  // Manual flow chart: wait up to 50 s for SEND OK.
  '+CIPSEND': 60_000,
  // The payload may be large at a slow baud rate, and the module commits it to flash.
  '+FSWRITE': 60_000,
  '+CIPPING': 60_000,
};

/** Generic maximum response time (manual §1.4). */
export const DEFAULT_TIMEOUT_MS = 9_000;

/**
 * Default timeout for a command: the manual's value for the listed commands, `fallbackMs`
 * (9 s unless the channel was configured otherwise) for the rest.
 */
export function defaultTimeoutFor(command: string, fallbackMs = DEFAULT_TIMEOUT_MS): number {
  return TIMEOUTS_MS[commandName(command)] ?? fallbackMs;
}

/**
 * Unsolicited line shapes of the dialect that are never information lines of a command, even
 * when no URC handler claims them (§4.1, §4.4, §4.6, §4.8). They go to URC handlers or 'unknown'.
 */
const KNOWN_URC =
  /^(?:RDY|\^MODE: ?.*|\+E_UTRAN Service|\+GSM Service|\+CGEV: .*|\+NITZ: .*|\+PDP:? ?DEACT|\d+, ?(?:CONNECT OK|CONNECT FAIL|ALREADY CONNECT|CLOSED|CLOSE OK|SEND OK|SEND FAIL)|DATA ACCEPT: ?\d+,\d+|\+CIPRXGET: ?1,\d+(?:,".*")?|\+CDNSGIP: ?.*|\+HTTPACTION: ?.*|\+CMTI: .*|SMS Ready|Call Ready|CLOSED|CONNECT OK|CONNECT FAIL|ALREADY CONNECT|TCP ERROR: ?\d+|UDP ERROR: ?\d+)$/;

/** Whether a line has the shape of a known unsolicited result code. */
export function isKnownUrc(line: string): boolean {
  return KNOWN_URC.test(line);
}
