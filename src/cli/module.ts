/**
 * Opening the module a command talks to: `--mock` (the embedded mock), `--port PATH`, or, with
 * neither, whatever `Modem.open` finds ($AIR780_PORT, then USB id 19d1:0001). Bring-up on a real
 * module can take a minute, so every state change is shown on stderr while it happens.
 */
import type { Duplex } from 'node:stream';
import { AtChannel } from '../at/index.js';
import type { MockModem, MockModemOptions } from '../mock/index.js';
import { Modem, type ModemOpenOptions } from '../modem/index.js';
import { runScript, type AtScript } from '../at/script.js';
import { ECHO_OFF, NUMERIC_ERRORS, syncStep, type ProgressEvent } from '../modem/bringup.js';
import { openTransport, type Transport } from '../modem/transport.js';
import { bool, num, str, type FlagValues } from './args.js';
import { CliError, UsageError } from './errors.js';
import type { Io } from './io.js';

/**
 * Test-only: `AIR780_MOCK_OPTIONS` holds JSON MockModemOptions for `--mock` (e.g.
 * `{"sim":"absent"}`, `{"registrationDelayMs":600000}`), so spawned commands can be run against
 * a module without SIM or coverage. Only plain JSON fields are taken.
 */
export const MOCK_OPTIONS_ENV = 'AIR780_MOCK_OPTIONS';

/** Where the APN password can come from instead of argv (which other local users see in `ps`). */
export const PASSWORD_ENV = 'AIR780_APN_PASSWORD';

/** The mock options from {@link MOCK_OPTIONS_ENV} merged under `extra` (which wins). */
export function mockOptions(extra?: MockModemOptions): MockModemOptions {
  const raw = process.env[MOCK_OPTIONS_ENV];
  if (!raw) return { ...extra };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(
      `${MOCK_OPTIONS_ENV} is not JSON: ${(err as Error).message}`,
      `e.g. ${MOCK_OPTIONS_ENV}='{"sim":"absent"}'`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${MOCK_OPTIONS_ENV} must be a JSON object`, `e.g. ${MOCK_OPTIONS_ENV}='{"sim":"absent"}'`);
  }
  return { ...(parsed as MockModemOptions), ...extra };
}

/** APN, user and password from the flags (password also from {@link PASSWORD_ENV}). */
function apnOptions(flags: FlagValues): Pick<ModemOpenOptions, 'apn' | 'user' | 'password'> {
  const out: Pick<ModemOpenOptions, 'apn' | 'user' | 'password'> = {};
  const apn = str(flags, 'apn');
  const user = str(flags, 'user');
  const password = str(flags, 'password') ?? (process.env[PASSWORD_ENV] || undefined);
  if ((user !== undefined || str(flags, 'password') !== undefined) && apn === undefined) {
    throw new UsageError(
      '--user and --password need --apn',
      'e.g. --apn internet.example --user me (password from $AIR780_APN_PASSWORD)',
    );
  }
  if (apn !== undefined) out.apn = apn;
  if (apn !== undefined && user !== undefined) out.user = user;
  if (apn !== undefined && password !== undefined) out.password = password;
  return out;
}

export interface OpenedModule {
  modem: Modem;
  /** Present with --mock. */
  mock?: MockModem | undefined;
  /** Closes the modem, then the mock. Safe to call twice. */
  close(): Promise<void>;
}

/** Where the module is, in words, for status lines. */
export function describeTarget(flags: FlagValues): string {
  if (bool(flags, 'mock')) return 'the embedded mock';
  const port = str(flags, 'port') ?? process.env.AIR780_PORT;
  return port ? port : 'the first Air780 found (USB 19d1:0001)';
}

/** `--mock` and `--port` name two different modules: refused rather than one silently ignored. */
function checkTarget(flags: FlagValues): void {
  if (bool(flags, 'mock') && str(flags, 'port') !== undefined) {
    throw new UsageError(
      '--mock and --port name two different modules',
      'give one: --mock for the embedded mock, or --port PATH for a module',
    );
  }
}

/**
 * No module found and none named: say how to try without one, as well as how to name one.
 * Other errors pass unchanged.
 */
function withMockHint(err: unknown): unknown {
  if ((err as { code?: unknown } | null)?.code !== 'ERR_NO_MODEM') return err;
  return new CliError(
    'ERR_NO_MODEM',
    (err as Error).message,
    'no module at hand? add --mock to run on the embedded mock',
    { cause: err },
  );
}

/** Opens and brings up the module selected by the common flags, reporting progress on `io`. */
export async function openModule(
  flags: FlagValues,
  io: Io,
  extra: { mock?: MockModemOptions; modem?: Partial<ModemOpenOptions> } = {},
): Promise<OpenedModule> {
  checkTarget(flags);
  const options: ModemOpenOptions = { ...extra.modem };
  const rx = str(flags, 'rx');
  if (rx === 'push' || rx === 'pull') options.rxMode = rx;
  Object.assign(options, apnOptions(flags));
  let mock: MockModem | undefined;
  if (bool(flags, 'mock')) {
    // Loaded only when asked for: talking to hardware never needs the mock.
    const { MockModem } = await import('../mock/index.js');
    mock = new MockModem(mockOptions(extra.mock));
    options.stream = mock.hostStream();
  } else {
    const port = str(flags, 'port');
    if (port !== undefined) options.path = port;
    const baud = num(flags, 'baud');
    if (baud !== undefined) options.baudRate = baud;
    if (bool(flags, 'rtscts')) options.rtscts = true;
  }
  io.status(`opening ${describeTarget(flags)}...`);
  const started = performance.now();
  const onProgress = (what: unknown): void => {
    io.status(`  ${formatProgress(what)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  };
  options.onProgress = onProgress;
  let modem: Modem;
  try {
    modem = await Modem.open(options);
  } catch (err) {
    await mock?.close().catch(() => {});
    throw withMockHint(err);
  }
  io.status(`module ready (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  let closed = false;
  return {
    modem,
    mock,
    async close() {
      if (closed) return;
      closed = true;
      await modem.close().catch(() => {});
      await mock?.close().catch(() => {});
    },
  };
}

/** One readable line from a modem progress/state event. */
export function formatProgress(what: unknown): string {
  if (typeof what === 'string') return what;
  if (what && typeof what === 'object') {
    const o = what as Record<string, unknown>;
    const text = o.message ?? o.detail ?? o.step ?? o.state;
    if (typeof text === 'string') return text;
  }
  return JSON.stringify(what);
}

/** A module reached only as far as its AT port: synced, echo off, numeric errors. */
export interface AtSession {
  at: AtChannel;
  /** The byte stream under `at` (an AT console takes it over after `at.close()`). */
  stream: Duplex;
  /** Present with --mock. */
  mock?: MockModem;
  /** Where the module is, in words. */
  target: string;
  /** Closes the channel, the port, then the mock. Safe to call twice. */
  close(): Promise<void>;
}

/** `AT` attempts (one a second) before a command gives up on a module that does not answer. */
const SYNC_ATTEMPTS = 6;

/**
 * Bring-up's first steps: sync, echo off, numeric errors. Older firmware may refuse CMEE, which
 * only makes the errors the reports explain (+CME ERROR: 10) less specific, so a refusal is fine.
 */
function answersAtScript(): AtScript<ProgressEvent> {
  return {
    name: 'the AT check',
    steps: [
      syncStep({ syncAttempts: SYNC_ATTEMPTS, syncIntervalMs: 1000 }),
      ECHO_OFF,
      { ...NUMERIC_ERRORS, refused: { other: 'next' } },
    ],
    // Each unanswered sync AT may add the channel's 1 s resync: a backstop above both.
    timeoutMs: SYNC_ATTEMPTS * 2000 + 30_000,
  };
}

/**
 * Opens the port (or the mock) and gets the module to answer AT — and nothing more: no SIM,
 * registration or bearer is required, so identity and a console stay reachable on a module with
 * no SIM, a locked SIM or no coverage. A module that does not answer AT is ERR_NO_RESPONSE.
 */
export async function openAtSession(flags: FlagValues, io: Io): Promise<AtSession> {
  let mock: MockModem | undefined;
  let transport: Transport;
  checkTarget(flags);
  const target = describeTarget(flags);
  io.status(`opening ${target}...`);
  if (bool(flags, 'mock')) {
    const { MockModem } = await import('../mock/index.js');
    mock = new MockModem(mockOptions());
    transport = await openTransport({ stream: mock.hostStream() });
  } else {
    const port = str(flags, 'port');
    const baud = num(flags, 'baud');
    transport = await openTransport({
      ...(port !== undefined ? { path: port } : {}),
      ...(baud !== undefined ? { baudRate: baud } : {}),
      ...(bool(flags, 'rtscts') ? { rtscts: true } : {}),
    }).catch((err: unknown) => {
      throw withMockHint(err);
    });
  }
  const stream = transport.stream;
  // A failed port must not crash the process with an unhandled 'error': the channel reports it.
  stream.on('error', () => {});
  // A short resync: each unanswered sync `AT` is followed by one before the next try.
  const at = new AtChannel(stream, { name: target, syncTimeoutMs: 1000 });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    at.close();
    await transport.close().catch(() => {});
    await mock?.close().catch(() => {});
  };
  const started = performance.now();
  try {
    await runScript(at, answersAtScript(), {
      onProgress: (p) => {
        if (p.step === 'sync' && (p.attempt ?? 1) > 1)
          io.status(`  ${p.message} (attempt ${p.attempt}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
      },
    });
  } catch (err) {
    await close();
    if ((err as { code?: unknown }).code === 'ERR_NO_RESPONSE') {
      throw new CliError(
        'ERR_NO_RESPONSE',
        `${target} did not answer AT (${SYNC_ATTEMPTS} tries, 1 s each)`,
        "is the module powered and is this its AT port (not the log port, USB interface 4)? Check --baud; 'air780 ports --probe' shows which port answers",
        { cause: err },
      );
    }
    throw err;
  }
  io.status(`module answers AT (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return { at, stream, target, close, ...(mock ? { mock } : {}) };
}
