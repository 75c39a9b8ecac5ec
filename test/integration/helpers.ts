import { createHash } from 'node:crypto';
import { afterEach } from 'vitest';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions } from '../../src/modem/index.js';
import type { LuatWebSocket, LuatWsEvent } from '../../src/ws/index.js';

export { startWsEcho, startPythonEcho, type WsPeer } from '../ws/peers.js';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Short intervals so bring-up and recovery take milliseconds, generous timeouts for a loaded machine. */
export const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  commandTimeoutMs: 5000,
  recoveryBackoffMs: 100,
  recoveryMaxBackoffMs: 500,
};

/** Cleanups run after each test, last registered first. */
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) {
    try {
      await cleanup.pop()!();
    } catch {
      // a failed cleanup must not hide the test's own result
    }
  }
});

/** Registers `fn` to run after the current test. */
export function defer(fn: () => unknown): void {
  cleanup.push(fn);
}

export interface OpenedModem {
  mock: MockModem;
  modem: Modem;
}

/**
 * A MockModem and a Modem driving it: in-process (`hostStream`, reopened after a fault) or, with
 * `pty`, over a real pty through serialport.
 */
export async function openModem(
  options: { rxMode?: 'push' | 'pull'; pty?: boolean; mock?: MockModemOptions; modem?: ModemOpenOptions } = {},
): Promise<OpenedModem> {
  const mock = new MockModem(options.mock);
  defer(() => mock.close());
  let modem: Modem;
  if (options.pty) {
    const pty = await mock.servePty();
    defer(() => pty.close());
    modem = await Modem.open({
      path: pty.path,
      baudRate: 115200,
      ...FAST,
      rxMode: options.rxMode ?? 'push',
      ...options.modem,
    });
  } else {
    modem = await Modem.open({
      stream: mock.hostStream(),
      reopen: () => mock.hostStream(),
      ...FAST,
      rxMode: options.rxMode ?? 'push',
      ...options.modem,
    });
  }
  defer(() => modem.close());
  return { mock, modem };
}

export interface LuatRecord {
  event: LuatWsEvent;
  data: unknown;
  payload: unknown;
  at: number;
}

/** Records every LuatOS callback event of `wsc` (after calling `tap`, if given) and waits for them. */
export function recordLuat(
  wsc: LuatWebSocket,
  tap?: (event: LuatWsEvent) => void,
): {
  events: LuatRecord[];
  names(): string[];
  waitFor(event: LuatWsEvent, count?: number, ms?: number): Promise<LuatRecord[]>;
} {
  const events: LuatRecord[] = [];
  let wake: (() => void) | null = null;
  wsc.on((_client, event, data, payload) => {
    tap?.(event);
    events.push({ event, data, payload, at: Date.now() });
    wake?.();
  });
  return {
    events,
    names: () => events.map((e) => e.event),
    async waitFor(event, count = 1, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (events.filter((e) => e.event === event).length < count) {
        if (Date.now() > deadline)
          throw new Error(`no ${count}× ${event} within ${ms} ms; got ${events.map((e) => e.event).join(',')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return events.filter((e) => e.event === event);
    },
  };
}

/** Resolves once `predicate` holds (checked every 20 ms), or rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Asserts that a connection to 127.0.0.1:`port` went through the mock module (and not the host's
 * own network): the module was asked to open the link, and in pull mode data was read with CIPRXGET.
 */
export function expectThroughModule(mock: MockModem, port: number, rxMode?: 'push' | 'pull'): void {
  const cmds = mock.commands();
  const start = new RegExp(`^AT\\+CIPSTART=\\d,"TCP","127\\.0\\.0\\.1",${port}$`);
  if (!cmds.some((c) => start.test(c)))
    throw new Error(`the module never opened a link to port ${port}: ${cmds.slice(-20).join(' | ')}`);
  const pulls = cmds.filter((c) => /^AT\+CIPRXGET=2,/.test(c)).length;
  if (rxMode === 'pull' && pulls === 0) throw new Error('pull mode, but no AT+CIPRXGET=2 was sent');
  if (rxMode === 'push' && pulls > 0) throw new Error(`push mode, but ${pulls} AT+CIPRXGET=2 were sent`);
}
