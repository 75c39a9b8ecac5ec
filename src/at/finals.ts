/**
 * Which line ends a command, per command: the standard `OK` / `ERROR` / `+CME ERROR: n`, and the
 * dialect's non-standard finals (`SHUT OK`, bare IP, `<n>, CLOSE OK`, OK-first `AT+CIPSTATUS`,
 * CIPSEND's `DATA ACCEPT` / `SEND OK`). The shapes of the link finals come from the dialect
 * table (dialect.ts), like the command timeouts.
 */
import { URC, commandName, parseShape } from './dialect.js';

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
    return (line) => (RE_IPV4.test(line) || RE_IPV6.test(line) ? 'final' : isErrorFinal(line) ? 'error' : undefined);
  }
  if (name === '+CIPCLOSE') {
    const m = /^AT\+CIPCLOSE=(\d+)/i.exec(command);
    // Multi-link: `<n>, CLOSE OK` for our link; single-link (incl. `=<mode>`): `CLOSE OK`.
    const link = m ? String(Number(m[1])) : undefined;
    return (line) => {
      if (line === 'CLOSE OK') return 'final';
      const ev = link === undefined ? undefined : parseShape(URC.linkEvent, line);
      if (ev && ev.id === link && ev.event === 'CLOSE OK') return 'final';
      return isErrorFinal(line) ? 'error' : undefined;
    };
  }
  if (upper === 'AT+CIPSTATUS') return cipstatusMatcher();
  if (prompt) {
    const m = /^AT\+CIPSEND=(\d+),(\d+)$/i.exec(command);
    const link = m ? String(Number(m[1])) : undefined;
    const len = m ? Number(m[2]) : undefined;
    return (line) => {
      if (line === 'OK') return 'final';
      // Multi-link: `<n>, SEND OK` / `<n>, SEND FAIL` for our link; single-link: bare.
      const ev =
        link === undefined
          ? line === 'SEND OK' || line === 'SEND FAIL'
            ? { id: undefined, event: line }
            : undefined
          : parseShape(URC.linkEvent, line);
      if (ev && ev.id === link) {
        if (ev.event === 'SEND OK') return 'final';
        if (ev.event === 'SEND FAIL') return 'error';
      }
      // `DATA ACCEPT:<n>,<count>`: the count is what the module took, which the caller credits. A
      // count above the length asked for cannot be true of this send: a failure, not a success.
      const a = parseShape(URC.dataAccept, line);
      if (a && a.id === link) return len === undefined || a.count <= len ? 'final' : 'error';
      if (isErrorFinal(line) || /^TimeOut$/i.test(line)) return 'error';
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
