/**
 * The Air780E dialect in one table: every unsolicited line and binary block header the module
 * writes (its name, its pattern, the fields it carries) and the manual's maximum response time of
 * each command. The scanner takes its block headers from here, the final-result matchers their
 * known-URC check and the link finals, the modem its URC dispatch: a shape is written once.
 *
 * The table says what a line *is* (shape and fields, as Zephyr's modem_chat hands `argv` to an
 * unsolicited match); what it *means* (which link, what to do) is the modem layer's business.
 * Section numbers refer to /work/shared/air780e-at.md.
 */

/** One shape of the module's output: a name, a line pattern and the fields parsed from a match. */
export interface DialectShape<F> {
  /** Stable name, used in traces. */
  readonly name: string;
  /** The whole line (anchored); its groups feed {@link fields}. */
  readonly pattern: RegExp;
  /** The fields of a matching line; `undefined` when the line has the shape but not the form. */
  fields(m: RegExpExecArray): F | undefined;
}

/** The fields of a line with `shape`, or undefined when it does not have that shape. */
export function parseShape<F>(shape: DialectShape<F>, line: string): F | undefined {
  const m = shape.pattern.exec(line);
  return m ? shape.fields(m) : undefined;
}

function shape<F>(name: string, pattern: RegExp, fields: (m: RegExpExecArray) => F | undefined): DialectShape<F> {
  return { name, pattern, fields };
}

const none = (): Record<string, never> => ({});

/** The per-link events of multi-link mode (`AT+CIPMUX=1`). */
export type LinkEventName =
  | 'CONNECT OK'
  | 'CONNECT FAIL'
  | 'ALREADY CONNECT'
  | 'CLOSED'
  | 'CLOSE OK'
  | 'SEND OK'
  | 'SEND FAIL';

/** Fields of a header that announces a binary block: the link as written (if any) and the length. */
export interface BlockFields {
  /** Link id as written (any digits: whether it is one of the module's links is not said here). */
  id?: string;
  /** Bytes of data that follow. */
  len: number;
  /** Bytes still held by the module after this read (`+CIPRXGET: 2`). */
  left?: number;
}

/** Where a block's data starts relative to its header. */
export type BlockStart =
  /** Right after the colon, or after one optional CRLF / CR / LF (`+RECEIVE,<n>,<len>:`). */
  | 'colon-or-line'
  /** Right after the colon (`+IPD,<len>:`). */
  | 'colon'
  /** After the header's line end (`+CIPRXGET: 2,…`). */
  | 'line';

/** A header that announces a binary block: found by the scanner at the byte level. */
export interface BlockShape extends DialectShape<BlockFields> {
  /** The scanner's token kind for the block. */
  readonly kind: 'receive' | 'ipd' | 'ciprxget';
  /** Byte prefixes that start such a header (watched for silence before the header is whole). */
  readonly marks: readonly Buffer[];
  readonly start: BlockStart;
  /** Whether the module always writes `\r\n` after the data (else only with `AT+CIPRXF=0`). */
  readonly trailer: 'always' | 'if-configured';
}

function block(
  def: Omit<BlockShape, 'marks' | 'fields'> & { marks: string[]; fields: (m: RegExpExecArray) => BlockFields },
): BlockShape {
  return { ...def, marks: def.marks.map((s) => Buffer.from(s, 'latin1')) };
}

/** Push-mode data on link n (§4.6): `+RECEIVE,<n>,<len>:` then the bytes. */
const receive = block({
  name: 'receive',
  kind: 'receive',
  pattern: /^\+RECEIVE,(\d{1,3}),(\d{1,7}):$/,
  fields: (m) => ({ id: m[1]!, len: Number(m[2]) }),
  marks: ['+RECEIVE,'],
  start: 'colon-or-line',
  trailer: 'if-configured',
});

/** Push-mode data, single-link or `AT+CIPHEAD=1` (§4.6): `+IPD,<len>[,TCP|UDP]:` then the bytes. */
const ipd = block({
  name: 'ipd',
  kind: 'ipd',
  pattern: /^\+IPD,(\d{1,7})(?:,(?:TCP|UDP))?:$/,
  fields: (m) => ({ len: Number(m[1]) }),
  marks: ['+IPD,'],
  start: 'colon',
  trailer: 'if-configured',
});

/**
 * Pull read (§4.7): `+CIPRXGET: 2,<n>,<read>,<left>` (multi-link) or `+CIPRXGET: 2,<read>,<left>`
 * (single-link), a line end, the bytes, `\r\n`, `OK`.
 */
const pullRead = block({
  name: 'pull-read',
  kind: 'ciprxget',
  pattern: /^\+CIPRXGET: ?2,(\d{1,7}),(\d{1,7})(?:,(\d{1,7}))?(?:,"[^"]*")?$/,
  fields: (m) =>
    m[3] === undefined
      ? { len: Number(m[1]), left: Number(m[2]) }
      : { id: m[1]!, len: Number(m[2]), left: Number(m[3]) },
  marks: ['+CIPRXGET: 2,', '+CIPRXGET:2,'],
  start: 'line',
  trailer: 'always',
});

/** The headers that announce binary blocks, by name. */
export const BLOCK = { receive, ipd, pullRead } as const;

/** The headers that announce binary blocks, in the order the scanner tries them. */
export const BLOCK_SHAPES: readonly BlockShape[] = [receive, ipd, pullRead];

/**
 * The unsolicited lines of the dialect (§4.1, §4.4, §4.6, §4.8). A line of one of these shapes is
 * never an information line of a command, even when no handler claims it.
 */
export const URC = {
  /** The module (re)started. */
  ready: shape('ready', /^RDY$/, none),
  mode: shape('mode', /^\^MODE: ?(.*)$/, (m) => ({ mode: m[1]! })),
  service: shape('service', /^\+(E_UTRAN|GSM) Service$/, (m) => ({ rat: m[1]! })),
  packetEvent: shape('packet-event', /^\+CGEV: (.*)$/, (m) => ({ event: m[1]! })),
  networkTime: shape('network-time', /^\+NITZ: (.*)$/, (m) => ({ time: m[1]! })),
  /** The packet context was deactivated by the network: every link is gone (§4.8). */
  pdpDeact: shape('pdp-deact', /^\+PDP:?\s*DEACT/, none),
  /** `<n>, CONNECT OK`, `<n>,CLOSED`, … Any number of digits, so that a garbled id is seen (and refused by the modem) rather than taken for another line. */
  linkEvent: shape(
    'link-event',
    /^\s*(\d+),\s*(CONNECT OK|CONNECT FAIL|ALREADY CONNECT|CLOSED|CLOSE OK|SEND OK|SEND FAIL)\s*$/,
    (m) => ({
      id: m[1]!,
      event: m[2]! as LinkEventName,
    }),
  ),
  /** The single-link form of the link events a command does not end. */
  singleLinkEvent: shape('single-link-event', /^(CLOSED|CONNECT OK|CONNECT FAIL|ALREADY CONNECT)$/, (m) => ({
    event: m[1]! as LinkEventName,
  })),
  /** `DATA ACCEPT:<n>,<count>` (or single-link `DATA ACCEPT:<count>`): what the module took of a send (`AT+CIPQSEND=1`). */
  dataAccept: shape('data-accept', /^\s*DATA ACCEPT:\s*(?:(\d+)\s*,\s*)?(\d+)\s*$/, (m) =>
    m[1] === undefined ? { count: Number(m[2]) } : { id: m[1], count: Number(m[2]) },
  ),
  /** Pull mode: data is waiting on link n (`+CIPRXGET: 1,<n>[,…]`). */
  dataWaiting: shape('data-waiting', /^\+CIPRXGET:\s*1\s*,\s*(\d+)(?:\s*,.*)?$/, (m) => ({ id: m[1]! })),
  /**
   * `AT+CDNSGIP`'s answer: `+CDNSGIP: 1,"<host>","<ip>"[,"<ip2>"]` or `+CDNSGIP: 0,<err>`. Any
   * `+CDNSGIP:` line has the shape; only these two forms have fields.
   */
  dnsAnswer: shape('dns-answer', /^\+CDNSGIP: ?(.*)$/, dnsAnswerFields),
  httpAction: shape('http-action', /^\+HTTPACTION: ?(.*)$/, (m) => ({ result: m[1]! })),
  smsStored: shape('sms-stored', /^\+CMTI: (.*)$/, (m) => ({ where: m[1]! })),
  smsReady: shape('sms-ready', /^SMS Ready$/, none),
  callReady: shape('call-ready', /^Call Ready$/, none),
  /** Single-link transport errors: `TCP ERROR: <n>`, `UDP ERROR: <n>`. */
  transportError: shape('transport-error', /^(TCP|UDP) ERROR: ?(\d+)$/, (m) => ({ proto: m[1]!, code: Number(m[2]) })),
} as const;

/** Fields of `+CDNSGIP`: the host and its addresses, or the module's error number. */
export type DnsAnswer = { host: string; ips: string[] } | { error: number };

function dnsAnswerFields(m: RegExpExecArray): DnsAnswer | undefined {
  const f = /^(?:1,"([^"]*)"((?:,"[^"]*")+)|0,(\d+))$/.exec(m[1]!);
  if (!f) return undefined;
  if (f[3] !== undefined) return { error: Number(f[3]) };
  return { host: f[1]!, ips: [...f[2]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) };
}

const URC_SHAPES: readonly DialectShape<unknown>[] = Object.values(URC);

/** Whether a line has the shape of one of the dialect's unsolicited result codes ({@link URC}). */
export function isKnownUrc(line: string): boolean {
  for (const s of URC_SHAPES) {
    s.pattern.lastIndex = 0;
    if (s.pattern.test(line)) return true;
  }
  return false;
}

/** Upper-case command name without `AT`, e.g. `+CIPSEND` for `AT+CIPSEND=0,5`, `I` for `ATI`. */
export function commandName(command: string): string {
  const m = /^AT([+^&]?[A-Za-z]*)/i.exec(command);
  return m ? m[1]!.toUpperCase() : command.toUpperCase();
}

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
