import { once } from 'node:events';
import type { BindingInterface } from '@serialport/bindings-cpp';
import { afterEach, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, discoverPorts } from '../../src/modem/index.js';
import { startEchoServer } from '../helpers/servers.js';
import { echoThrough, waitFor, usbPort as usb } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

/** Three ACM ports of one module: if02 (dead here), if04 (DIAG), if06 (the mock's AT port). */
function threePortBinding(mock: MockModem, opened: string[]): BindingInterface {
  const inner = mock.binding() as unknown as BindingInterface;
  return {
    async list() {
      return [
        usb('/dev/fakeACM0', '02'),
        usb('/dev/fakeACM1', '04'),
        usb('/dev/fakeACM2', '06'),
        {
          ...usb('/dev/ttyS0', '00'),
          vendorId: undefined,
          productId: undefined,
          manufacturer: undefined,
          pnpId: undefined,
        },
      ];
    },
    async open(options) {
      opened.push(options.path);
      if (options.path === '/dev/fakeACM2') return inner.open(options);
      throw new Error(`cannot open ${options.path}`);
    },
  } as BindingInterface;
}

/** Modem.open by discovery alone (AIR780_PORT unset for the call); it must come online. */
async function openDiscovered(binding: BindingInterface): Promise<void> {
  const saved = process.env.AIR780_PORT;
  delete process.env.AIR780_PORT;
  try {
    const modem = await Modem.open({ binding, syncIntervalMs: 300, pollIntervalMs: 50 });
    cleanup.push(() => modem.close());
    expect(modem.state).toBe('online');
  } finally {
    if (saved !== undefined) process.env.AIR780_PORT = saved;
  }
}

describe('discovery', () => {
  it('finds the AT port among the module ports, never opening the DIAG port', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const opened: string[] = [];
    const binding = threePortBinding(mock, opened);
    await openDiscovered(binding);
    expect(opened).not.toContain('/dev/fakeACM1');
    expect(opened).not.toContain('/dev/ttyS0');
    expect(opened[0]).toBe('/dev/fakeACM2');
  });

  it("the probe's port is closed before the AT port is opened for good: a lock held until the close completes does not fail the open", async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const inner = mock.binding() as unknown as BindingInterface;
    // As with flock on a tty: the lock goes only when the (asynchronous) close has completed.
    const binding = {
      list: () => inner.list(),
      async open(options) {
        const port = await inner.open(options);
        const close = port.close.bind(port);
        port.close = async () => {
          await new Promise((r) => setTimeout(r, 50));
          await close();
        };
        return port;
      },
    } as BindingInterface;
    await openDiscovered(binding);
  });

  it('lists ports with Air780 marks and which answer AT', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const opened: string[] = [];
    const ports = await discoverPorts({ binding: threePortBinding(mock, opened), probeTimeoutMs: 300 });
    const byPath = Object.fromEntries(ports.map((p) => [p.path, p]));
    expect(byPath['/dev/fakeACM2']).toMatchObject({ isAir780: true, interfaceNumber: 6, answersAt: true });
    expect(byPath['/dev/fakeACM1']).toMatchObject({ isAir780: true, role: 'diag', answersAt: false });
    expect(byPath['/dev/fakeACM0']).toMatchObject({ answersAt: false });
    expect(byPath['/dev/ttyS0']).toMatchObject({ isAir780: false, answersAt: false });
    expect(opened).not.toContain('/dev/fakeACM1');
  });

  it('reopens the same path through a binding after an unplug and works again', async () => {
    const echo = await startEchoServer();
    cleanup.push(() => echo.close());
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const modem = await Modem.open({
      path: '/dev/mock-air780',
      binding: mock.binding() as unknown as BindingInterface,
      syncIntervalMs: 300,
      pollIntervalMs: 50,
      recoveryBackoffMs: 100,
      recoveryMaxBackoffMs: 400,
    });
    cleanup.push(() => modem.close());
    const s = modem.connect('127.0.0.1', echo.port);
    await once(s, 'connect');
    s.on('error', () => undefined);
    const closed = new Promise((r) => s.once('close', r));
    mock.unplug({ replugAfterMs: 500 });
    await closed;
    await waitFor(() => modem.state === 'recovering' || modem.state === 'syncing', 5000, 'recovery');
    await waitFor(() => modem.state === 'online', 20_000, 'online after replug');
    const again = modem.connect('127.0.0.1', echo.port);
    await once(again, 'connect');
    const r = await echoThrough(again, 20_000);
    expect(r.received).toBe(r.sent);
    again.destroy();
  });
});
