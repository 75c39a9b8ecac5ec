import { DEFAULT_LINE_STEP_MS } from './line.js';

/**
 * Firmware quirks the mock can reproduce (air780e-at.md §10–§11):
 * - `cgreg-for-cereg`: `AT+CEREG?` answered with a `+CGREG:` prefix (780EPV V1004/V1011).
 * - `connect-no-space`: link result URCs without the space: `0,CONNECT OK`, `0,CLOSED`, ...
 * - `boot-garbage`: bootloader text `^boot.rom'v'!` before `RDY` after a reboot.
 * - `urc-after-prompt`: a URC (`+NITZ: ...`) right after the `> ` prompt of a send.
 * - `tls-close-ok`: a TLS peer close arrives as an unsolicited `<n>, CLOSE OK` and discards unread data.
 * - `echo-after-reboot`: echo comes back on after a reboot even if `ATE0` was saved with `AT&W`.
 */
export type MockQuirk =
  | 'cgreg-for-cereg'
  | 'connect-no-space'
  | 'boot-garbage'
  | 'urc-after-prompt'
  | 'tls-close-ok'
  | 'echo-after-reboot';

/** SIM card state the mock reports through `AT+CPIN?`. */
export type MockSimState = 'ready' | 'absent' | 'pin' | 'puk';

/** Maps a host name from `AT+CIPSTART`/`AT+CDNSGIP` to an IPv4 address, or undefined if it does not resolve. */
export type MockResolver = (host: string) => string | undefined | Promise<string | undefined>;

/** Options of {@link MockModem}. Every field is optional; defaults model a healthy Air780E. */
export interface MockModemOptions {
  /** Simulated line speed in baud, both directions (baud/10 bytes/s, full duplex); 0 = unthrottled. Default 0. */
  baudRate?: number;
  /** How often the throttled line delivers a chunk, like a USB frame or a UART FIFO interrupt (ms). Default 1 (see `DEFAULT_LINE_STEP_MS`). */
  lineChunkMs?: number;
  /** Largest chunk the line delivers at once (bytes). Default 4096. */
  lineChunkBytes?: number;
  /** Delay before the module answers each command (ms). Default 0. */
  latencyMs?: number;
  /** Extra delay between a successful connect on the host and `<n>, CONNECT OK` (ms). Default 0. */
  connectDelayMs?: number;
  /** Give up a connect (TCP + TLS) after this long and answer `CONNECT FAIL` (ms). Default 75 000. */
  connectTimeoutMs?: number;
  /** Delay before `CONNECT FAIL` for a name that does not resolve (the real module takes ≈12 s). Default 0. */
  dnsFailDelayMs?: number;
  /** Quirks to reproduce; none by default. */
  quirks?: MockQuirk[];
  /** SIM state. Default 'ready'. */
  sim?: MockSimState;
  /** PIN accepted by `AT+CPIN=<pin>` when `sim` is 'pin'. Default '1234'. */
  pin?: string;
  /** Time from boot (or SIM unlock) until the module reports itself registered (ms). Default 0. */
  registrationDelayMs?: number;
  /** Signal strength reported by `AT+CSQ` (0–31, 99 unknown). Default 19. */
  rssi?: number;
  /** Per-link receive buffer of the module in pull mode (bytes). Default 65 536. */
  rxBufferBytes?: number;
  /** Push mode: stop reading host sockets while this many bytes wait on the serial line. Default 16 384. */
  lineHighWater?: number;
  /** Delay between a reboot and `RDY` (ms). Default 100. */
  rebootDelayMs?: number;
  /** Name resolution for CIPSTART/CDNSGIP. Default: 'localhost' → 127.0.0.1, IPv4 literals as is, else dns.lookup. */
  resolve?: MockResolver;
  /** Host names or addresses that never answer: CIPSTART gives `OK` and then nothing. */
  blackhole?: string[];
  /** Local IP the module reports for `AT+CIFSR`. Default '10.83.172.111'. */
  localIp?: string;
  /** Firmware revision the module reports (`ATI`, `AT+CGMR`). */
  firmware?: string;
  /** Model it reports (`AT+CGMM`). */
  model?: string;
  /** IMEI it reports (`AT+CGSN`). */
  imei?: string;
  /** ICCID of its SIM (`AT+ICCID`). */
  iccid?: string;
  /** IMSI of its SIM (`AT+CIMI`). */
  imsi?: string;
  /** Bound of the transcript in entries. Default 10 000. */
  transcriptMaxEntries?: number;
  /** Bound of the transcript in bytes. Default 1 MiB. */
  transcriptMaxBytes?: number;
}

export type ResolvedOptions = Required<Omit<MockModemOptions, 'resolve' | 'quirks' | 'blackhole'>> & {
  resolve: MockResolver | undefined;
  quirks: ReadonlySet<MockQuirk>;
  blackhole: ReadonlySet<string>;
};

export function resolveOptions(o: MockModemOptions = {}): ResolvedOptions {
  const nonNeg = (v: number | undefined, d: number, name: string): number => {
    if (v === undefined) return d;
    if (!Number.isFinite(v) || v < 0)
      throw new RangeError(`MockModem option ${name} must be a non-negative number, got ${v}`);
    return v;
  };
  return {
    baudRate: nonNeg(o.baudRate, 0, 'baudRate'),
    lineChunkMs: Math.max(1, nonNeg(o.lineChunkMs, DEFAULT_LINE_STEP_MS, 'lineChunkMs')),
    lineChunkBytes: Math.max(1, nonNeg(o.lineChunkBytes, 4096, 'lineChunkBytes')),
    latencyMs: nonNeg(o.latencyMs, 0, 'latencyMs'),
    connectDelayMs: nonNeg(o.connectDelayMs, 0, 'connectDelayMs'),
    connectTimeoutMs: nonNeg(o.connectTimeoutMs, 75_000, 'connectTimeoutMs'),
    dnsFailDelayMs: nonNeg(o.dnsFailDelayMs, 0, 'dnsFailDelayMs'),
    quirks: new Set(o.quirks ?? []),
    sim: o.sim ?? 'ready',
    pin: o.pin ?? '1234',
    registrationDelayMs: nonNeg(o.registrationDelayMs, 0, 'registrationDelayMs'),
    rssi: nonNeg(o.rssi, 19, 'rssi'),
    rxBufferBytes: Math.max(1, nonNeg(o.rxBufferBytes, 65_536, 'rxBufferBytes')),
    lineHighWater: Math.max(1, nonNeg(o.lineHighWater, 16_384, 'lineHighWater')),
    rebootDelayMs: nonNeg(o.rebootDelayMs, 100, 'rebootDelayMs'),
    resolve: o.resolve,
    blackhole: new Set(o.blackhole ?? []),
    localIp: o.localIp ?? '10.83.172.111',
    firmware: o.firmware ?? 'AirM2M_780E_V1171_LTE_AT',
    model: o.model ?? 'Air780E',
    imei: o.imei ?? '359759002514931',
    iccid: o.iccid ?? '89860117831003134201',
    imsi: o.imsi ?? '460011234567890',
    transcriptMaxEntries: Math.max(1, nonNeg(o.transcriptMaxEntries, 10_000, 'transcriptMaxEntries')),
    transcriptMaxBytes: Math.max(1, nonNeg(o.transcriptMaxBytes, 1 << 20, 'transcriptMaxBytes')),
  };
}
