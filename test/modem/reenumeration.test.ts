import { once } from 'node:events';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { format } from 'node:util';
import type { BindingInterface } from '@serialport/bindings-cpp';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions } from '../../src/modem/index.js';
import { byIdHint } from '../../src/modem/transport.js';
import { startEchoServer } from '../helpers/servers.js';
import { echoThrough, waitFor, usbPort as usb } from './helpers.js';

const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  recoveryBackoffMs: 100,
  recoveryMaxBackoffMs: 400,
};

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

/**
 * The module's three ACM ports, numbered from `base` (if02, if04 = DIAG, if06 = AT); `renumber(n)`
 * models a replug after which the kernel hands out other numbers: the old paths no longer exist.
 */
function renumberingBinding(mock: MockModem, opened: string[]) {
  const inner = mock.binding() as unknown as BindingInterface;
  let base = 0;
  const binding = {
    async list() {
      if (!mock.plugged) return [];
      return [
        usb(`/dev/ttyACM${base}`, '02'),
        usb(`/dev/ttyACM${base + 1}`, '04'),
        usb(`/dev/ttyACM${base + 2}`, '06'),
      ];
    },
    async open(options) {
      opened.push(options.path);
      if (mock.plugged && options.path === `/dev/ttyACM${base + 2}`) return inner.open(options);
      throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
    },
  } as BindingInterface;
  return { binding, renumber: (n: number) => (base = n) };
}

/** Runs `fn` with AIR780_PORT unset (discovery), restoring it after. */
async function withoutPortEnv<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.AIR780_PORT;
  delete process.env.AIR780_PORT;
  try {
    return await fn();
  } finally {
    if (saved !== undefined) process.env.AIR780_PORT = saved;
  }
}

/** Captures what the air780:modem:* debug namespaces print while it is enabled. */
function captureModemDebug(): string[] {
  const lines: string[] = [];
  const savedLog = createDebug.log;
  const savedNamespaces = createDebug.disable();
  createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
  createDebug.enable('air780:modem*');
  cleanup.push(async () => {
    createDebug.log = savedLog;
    createDebug.disable();
    if (savedNamespaces) createDebug.enable(savedNamespaces);
  });
  return lines;
}

async function unplugAndRecover(
  modem: Modem,
  mock: MockModem,
  echoPort: number,
  duringUnplug: () => void,
): Promise<void> {
  const s = modem.connect('127.0.0.1', echoPort);
  await once(s, 'connect');
  s.on('error', () => undefined);
  const closed = new Promise((r) => s.once('close', r));
  mock.once('unplug', duringUnplug);
  mock.unplug({ replugAfterMs: 400 });
  await closed;
  await waitFor(() => modem.state !== 'online', 5000, 'recovery to start');
}

describe('port reopen after USB re-enumeration', () => {
  it('a discovered port is discovered again on reopen: the module is found on its new path', async () => {
    const echo = await startEchoServer();
    cleanup.push(() => echo.close());
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const opened: string[] = [];
    const { binding, renumber } = renumberingBinding(mock, opened);
    const modem = await withoutPortEnv(() => Modem.open({ binding, ...FAST }));
    cleanup.push(() => modem.close());
    expect(opened).toEqual(['/dev/ttyACM2', '/dev/ttyACM2']); // probe, then the open
    await unplugAndRecover(modem, mock, echo.port, () => renumber(3));
    await waitFor(() => modem.state === 'online', 20_000, 'online on the new path');
    expect(opened.at(-1)).toBe('/dev/ttyACM5');
    expect(opened).not.toContain('/dev/ttyACM1');
    expect(opened).not.toContain('/dev/ttyACM4'); // DIAG ports are never opened
    const again = modem.connect('127.0.0.1', echo.port);
    await once(again, 'connect');
    const r = await echoThrough(again, 10_000);
    expect(r.received).toBe(r.sent);
    again.destroy();
  });

  it('an explicit /dev/ttyACM path is kept on reopen, with a debug hint to use /dev/serial/by-id', async () => {
    const echo = await startEchoServer();
    cleanup.push(() => echo.close());
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const lines = captureModemDebug();
    const opened: string[] = [];
    const { binding } = renumberingBinding(mock, opened);
    const modem = await Modem.open({ path: '/dev/ttyACM2', binding, ...FAST });
    cleanup.push(() => modem.close());
    expect(opened).toEqual(['/dev/ttyACM2']); // no discovery
    const hints = () =>
      lines.filter((l) => l.includes('/dev/ttyACM2 is numbered in plug order') && l.includes('/dev/serial/by-id/'));
    expect(hints()).toHaveLength(1);
    await unplugAndRecover(modem, mock, echo.port, () => undefined);
    await waitFor(() => modem.state === 'online', 20_000, 'online again');
    expect(new Set(opened)).toEqual(new Set(['/dev/ttyACM2']));
    expect(hints().length).toBeGreaterThanOrEqual(2);
  });

  it('Modem.close() while a reopen is opening the port: the port that opens after the close is closed again', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const inner = mock.binding() as unknown as BindingInterface;
    const ports: Array<{ isOpen: boolean }> = [];
    let gate: Promise<void> | undefined;
    let release = (): void => {};
    let waiting = false;
    const binding = {
      list: () => inner.list(),
      async open(options) {
        if (gate) {
          waiting = true;
          await gate;
        }
        const port = await inner.open(options);
        ports.push(port as unknown as { isOpen: boolean });
        return port;
      },
    } as BindingInterface;
    const modem = await Modem.open({ path: '/dev/serial/by-id/usb-EigenComm-if06', binding, ...FAST });
    cleanup.push(() => modem.close());
    gate = new Promise<void>((r) => (release = r));
    mock.unplug();
    await waitFor(() => waiting, 10_000, 'the reopen to open the port');
    await modem.close();
    mock.replug();
    release();
    await waitFor(() => ports.length === 2, 5000, 'the late open');
    await waitFor(() => ports.every((p) => !p.isOpen), 5000, 'every port the modem opened to be closed');
    expect(modem.state).toBe('closed');
  });

  it('Modem.close() while an injected stream is being reopened: the stream the callback gives after the close is destroyed', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    let release = (): void => {};
    let waiting = false;
    let late: Duplex | undefined;
    const modem = await Modem.open({
      stream: mock.hostStream(),
      reopen: async () => {
        waiting = true;
        await new Promise<void>((r) => (release = r));
        late = mock.hostStream();
        return late;
      },
      ...FAST,
    });
    cleanup.push(() => modem.close());
    mock.unplug();
    await waitFor(() => waiting, 10_000, 'the reopen callback');
    await modem.close();
    mock.replug();
    release();
    await waitFor(() => late !== undefined, 5000, 'the late stream');
    await waitFor(() => late!.destroyed, 5000, 'the late stream to be destroyed');
  });

  it('no hint for a stable explicit path', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const lines = captureModemDebug();
    const modem = await Modem.open({
      path: '/dev/serial/by-id/usb-EigenComm-if06',
      binding: mock.binding() as unknown as BindingInterface,
      ...FAST,
    });
    cleanup.push(() => modem.close());
    expect(lines.some((l) => l.includes('numbered in plug order'))).toBe(false);
  });
});

describe('byIdHint', () => {
  it('names the by-id link that points to the tty, else the generic advice; nothing for stable names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-byid-'));
    const tty = join(dir, 'ttyACM2');
    const other = join(dir, 'ttyACM0');
    writeFileSync(tty, '');
    writeFileSync(other, '');
    const byId = join(dir, 'by-id');
    mkdirSync(byId);
    symlinkSync(other, join(byId, 'usb-EigenComm_EigenComm_Compo_000000000001-if02'));
    symlinkSync(tty, join(byId, 'usb-EigenComm_EigenComm_Compo_000000000001-if06'));
    expect(await byIdHint(tty, byId)).toContain(
      `use ${join(byId, 'usb-EigenComm_EigenComm_Compo_000000000001-if06')} instead`,
    );
    expect(await byIdHint(join(dir, 'ttyACM9'), byId)).toContain('use its /dev/serial/by-id/… link instead');
    expect(await byIdHint('/dev/ttyUSB0', join(dir, 'nope'))).toContain('use its /dev/serial/by-id/… link instead');
    expect(await byIdHint(join(byId, 'usb-EigenComm_EigenComm_Compo_000000000001-if06'), byId)).toBeUndefined();
    expect(await byIdHint('/dev/ttyS0', byId)).toBeUndefined();
  });
});
