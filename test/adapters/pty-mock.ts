import { Modem } from '../../src/index.js';
import { startMock } from '../../src/bench/run.js';
import { ensureBuilt, MAIN } from '../cli/build.js';
import { defer, FAST } from '../integration/helpers.js';

/** The simulated line of the pty cases: the module's usual UART rate and a little latency. */
export const PTY_BAUD = 115200;
/** What `startMock` gives the mock process (the bench's latency). */
export const PTY_LATENCY_MS = 2;

export interface PtyMock {
  modem: Modem;
  /** Sends a fault line to the mock process (`reboot`, `close 0`, …; see `air780 mock`). */
  fault(spec: string): void;
}

/**
 * `air780 mock --link` in its own process behind a pty at 115200 baud / 2 ms latency (the bench's
 * `startMock`), and a Modem on it through serialport, both stopped after the test. Call
 * `ensureBuilt` in a `beforeAll`.
 */
export async function openPtyModem(rxMode: 'push' | 'pull' = 'push'): Promise<PtyMock> {
  await ensureBuilt();
  const mock = await startMock(PTY_BAUD, () => {}, MAIN);
  defer(() => mock.stop());
  const modem = await Modem.open({ path: mock.path, baudRate: PTY_BAUD, ...FAST, rxMode });
  defer(() => modem.close());
  return { modem, fault: (spec) => void mock.child.stdin!.write(`${spec}\n`) };
}
