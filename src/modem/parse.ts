/** Parsers for the module's answers (identity, signal, registration, sockets). Pure functions. */
import { BLOCK, URC, parseShape } from '../at/index.js';

/** Signal strength from `+CSQ` (and `+CESQ` when the module answers it). */
export interface SignalInfo {
  /** Raw `+CSQ` rssi 0–31, 99 = unknown. */
  rssi: number;
  /** Received power in dBm (-113 … -51), `undefined` when unknown. */
  dbm: number | undefined;
  /** 0–5 bars. */
  bars: number;
  /** LTE RSRP in dBm from `+CESQ` when known. */
  rsrpDbm?: number;
  /** LTE RSRQ in dB from `+CESQ` when known. */
  rsrqDb?: number;
}

/** `+CSQ: <rssi>,<ber>` → signal; `undefined` when the line does not match. */
export function parseCsq(line: string): SignalInfo | undefined {
  const m = /^\+CSQ:\s*(\d+)\s*,\s*(\d+)/.exec(line.trim());
  if (!m) return undefined;
  const rssi = Number(m[1]);
  if (rssi > 31 || rssi < 0) return { rssi, dbm: undefined, bars: 0 };
  const dbm = -113 + 2 * rssi;
  // ≥18 stable, 11–17 marginal, ≤10 unusable (the manual's guidance), spread over 5 bars.
  const bars = rssi >= 23 ? 5 : rssi >= 18 ? 4 : rssi >= 14 ? 3 : rssi >= 11 ? 2 : rssi >= 2 ? 1 : 0;
  return { rssi, dbm, bars };
}

/** `+CESQ: rxlev,ber,rscp,ecno,rsrq,rsrp` → RSRQ/RSRP in dB/dBm (255 = unknown). */
export function parseCesq(line: string): { rsrqDb?: number; rsrpDbm?: number } | undefined {
  const m = /^\+CESQ:\s*(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(line.trim());
  if (!m) return undefined;
  const rsrq = Number(m[5]);
  const rsrp = Number(m[6]);
  const out: { rsrqDb?: number; rsrpDbm?: number } = {};
  if (rsrq <= 34) out.rsrqDb = -20 + rsrq / 2;
  if (rsrp <= 97) out.rsrpDbm = -141 + rsrp;
  return out;
}

/** Registration status as the 3GPP `stat` number, with its meaning. */
export interface Registration {
  /** Which answer it came from: 'CEREG', 'CGREG' or 'CREG'. */
  source: string;
  stat: number;
  /** true for 1 (home) and 5 (roaming). */
  registered: boolean;
  roaming: boolean;
  text: 'not-registered' | 'home' | 'searching' | 'denied' | 'unknown' | 'roaming';
}

const REG_TEXT: Registration['text'][] = ['not-registered', 'home', 'searching', 'denied', 'unknown', 'roaming'];

/**
 * `+CEREG: <n>,<stat>[,...]`, `+CGREG: ...` or `+CREG: ...` (read form; the first number is `n`).
 * Some firmware answers `AT+CEREG?` with `+CGREG:`, so any of the three prefixes is accepted.
 */
export function parseRegistration(line: string): Registration | undefined {
  const m = /^\+(CEREG|CGREG|CREG):\s*(\d+)\s*,\s*(\d+)/.exec(line.trim());
  if (!m) return undefined;
  const stat = Number(m[3]);
  return {
    source: m[1]!,
    stat,
    registered: stat === 1 || stat === 5,
    roaming: stat === 5,
    text: REG_TEXT[stat] ?? 'unknown',
  };
}

/** `+CGATT: <0|1>` → attached. */
export function parseCgatt(line: string): boolean | undefined {
  const m = /^\+CGATT:\s*(\d)/.exec(line.trim());
  return m ? m[1] === '1' : undefined;
}

/** `+COPS: <mode>[,<format>,"<oper>"[,<act>]]` → operator name/code. */
export function parseCops(line: string): string | undefined {
  const m = /^\+COPS:\s*\d+\s*,\s*\d+\s*,\s*"([^"]*)"/.exec(line.trim());
  return m ? m[1] : undefined;
}

/** A dotted IPv4 address, possibly zero-padded (`010.083.172.111`), normalised; else undefined. */
export function parseIpv4(text: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.join('.');
}

/** `+CPIN: <status>` → status text (`READY`, `SIM PIN`, `SIM PUK`, `SIM REMOVED`...). */
export function parseCpin(line: string): string | undefined {
  const m = /^\+CPIN:\s*(.+)$/.exec(line.trim());
  return m ? m[1]!.trim() : undefined;
}

/** `+CIPACK: <txlen>,<acklen>,<nacklen>`. */
export function parseCipack(line: string): { sent: number; acked: number; unacked: number } | undefined {
  const m = /^\+CIPACK:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/.exec(line.trim());
  return m ? { sent: Number(m[1]), acked: Number(m[2]), unacked: Number(m[3]) } : undefined;
}

/** `+CIPRXGET: 2,<n>,<read>,<left>` header of a binary pull read (multi-link form). */
export function parseRxgetHeader(line: string): { link: number; read: number; left: number } | undefined {
  const f = parseShape(BLOCK.pullRead, line.trim());
  return f?.id === undefined || f.left === undefined ? undefined : { link: Number(f.id), read: f.len, left: f.left };
}

// The URC shapes themselves live in the AT layer's dialect table (at/dialect.ts); these names
// stay for the modem's callers and tests.

/** The link-id URCs: `<n>, CONNECT OK`, `<n>,CLOSED`, ... ({@link URC.linkEvent}). */
export const LINK_EVENT_RE = URC.linkEvent.pattern;

/** `+CIPRXGET: 1,<n>` (data waiting on link n, pull mode; {@link URC.dataWaiting}). */
export const RXGET_URC_RE = URC.dataWaiting.pattern;

/** Link ids the module offers with `AT+CIPMUX=1`: 0 to LINK_COUNT - 1 (`AT+CIPSTART`, `AT+CIPSTATUS`). */
export const LINK_COUNT = 6;

/** The link id in a URC field, or undefined when it is not one of the module's links (0–5). */
export function linkId(field: string | undefined): number | undefined {
  if (field === undefined || !/^\d{1,3}$/.test(field)) return undefined;
  const n = Number(field);
  return n < LINK_COUNT ? n : undefined;
}

/**
 * The byte count of `DATA ACCEPT:<n>,<count>` (or single-link `DATA ACCEPT:<count>`): what the
 * module took of a send. Undefined for other finals (`SEND OK`, `OK`: the whole send).
 */
export function parseDataAccept(line: string): number | undefined {
  return parseShape(URC.dataAccept, line)?.count;
}

/** `+PDP: DEACT` in all its spellings ({@link URC.pdpDeact}). */
export const PDP_DEACT_RE = URC.pdpDeact.pattern;

/** Firmware string from `ATI` / `AT+CGMR` lines. */
export function parseFirmware(lines: string[]): string | undefined {
  for (const l of lines) {
    const t = l.trim();
    const m = /^\+CGMR:\s*"?([^"]+)"?$/.exec(t);
    if (m) return m[1];
    if (t && !t.startsWith('+') && t !== 'OK') return t;
  }
  return undefined;
}

/** Model from `AT+CGMM` (`+CGMM: "Air780E"` or a bare line). */
export function parseModel(lines: string[]): string | undefined {
  for (const l of lines) {
    const t = l.trim();
    const m = /^\+CGMM:\s*"?([^"]+)"?$/.exec(t);
    if (m) return m[1];
    if (t && !t.startsWith('+')) return t;
  }
  return undefined;
}

/** The first run of `min`–`max` digits in the lines (IMEI, ICCID, IMSI), allowing a `+XXX:` prefix. */
export function parseDigits(lines: string[], min: number, max: number): string | undefined {
  const re = new RegExp(`^(?:\\+[A-Z]+:\\s*"?)?([0-9A-Fa-f]{${min},${max}})"?$`);
  for (const l of lines) {
    const m = re.exec(l.trim());
    if (m) return m[1];
  }
  return undefined;
}
