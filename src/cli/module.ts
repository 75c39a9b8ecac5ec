/**
 * Opening the module a command talks to: `--mock` (the embedded mock), `--port PATH`, or, with
 * neither, whatever `Modem.open` finds ($AIR780_PORT, then USB id 19d1:0001). Bring-up on a real
 * module can take a minute, so every state change is shown on stderr while it happens.
 */
import type { MockModem, MockModemOptions } from '../mock/index.js';
import { Modem, type ModemOpenOptions } from '../modem/index.js';
import { bool, num, str, type FlagValues } from './args.js';
import type { Io } from './io.js';

export interface OpenedModule {
  modem: Modem;
  /** Present with --mock. */
  mock?: MockModem;
  /** Closes the modem, then the mock. Safe to call twice. */
  close(): Promise<void>;
}

/** Where the module is, in words, for status lines. */
export function describeTarget(flags: FlagValues): string {
  if (bool(flags, 'mock')) return 'the embedded mock';
  const port = str(flags, 'port') ?? process.env.AIR780_PORT;
  return port ? port : 'the first Air780 found (USB 19d1:0001)';
}

/** Opens and brings up the module selected by the common flags, reporting progress on `io`. */
export async function openModule(flags: FlagValues, io: Io, extra: { mock?: MockModemOptions; modem?: Partial<ModemOpenOptions> } = {}): Promise<OpenedModule> {
  const options: ModemOpenOptions = { ...extra.modem };
  const rx = str(flags, 'rx');
  if (rx === 'push' || rx === 'pull') options.rxMode = rx;
  const apn = str(flags, 'apn');
  if (apn !== undefined) options.apn = apn;
  let mock: MockModem | undefined;
  if (bool(flags, 'mock')) {
    // Loaded only when asked for: talking to hardware never needs the mock.
    const { MockModem } = await import('../mock/index.js');
    mock = new MockModem(extra.mock);
    options.stream = mock.hostStream();
  } else {
    const port = str(flags, 'port');
    if (port !== undefined) options.path = port;
    const baud = num(flags, 'baud');
    if (baud !== undefined) options.baudRate = baud;
    if (bool(flags, 'rtscts')) options.rtscts = true;
  }
  io.status(`opening ${describeTarget(flags)}...`);
  const started = Date.now();
  const onProgress = (what: unknown): void => {
    io.status(`  ${formatProgress(what)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
  options.onProgress = onProgress;
  let modem: Modem;
  try {
    modem = await Modem.open(options);
  } catch (err) {
    await mock?.close().catch(() => {});
    throw err;
  }
  io.status(`module ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
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
