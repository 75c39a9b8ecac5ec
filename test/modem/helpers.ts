import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { PortInfo } from '@serialport/bindings-cpp';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { Interposer } from './interpose.js';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes `size` random bytes (honouring backpressure) and reads as many back; returns both hashes. */
export async function echoThrough(
  socket: Duplex,
  size: number,
  chunk = 16 * 1024,
): Promise<{ sent: string; received: string; bytes: number }> {
  const data = randomBytes(size);
  const received: Buffer[] = [];
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      received.push(b);
      got += b.length;
      if (got >= size) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => (got >= size ? resolve() : reject(new Error(`closed after ${got} of ${size} bytes`))));
  });
  for (let off = 0; off < size; off += chunk) {
    if (!socket.write(data.subarray(off, off + chunk))) await once(socket, 'drain');
  }
  await done;
  return { sent: sha256(data), received: sha256(Buffer.concat(received)), bytes: got };
}

/** Resolves with the first event among `names`. */
export function firstEvent(
  emitter: NodeJS.EventEmitter,
  names: string[],
  timeoutMs = 20_000,
): Promise<{ name: string; args: unknown[] }> {
  return new Promise((resolve, reject) => {
    const handlers = names.map((name) => {
      const h = (...args: unknown[]) => {
        cleanup();
        resolve({ name, args });
      };
      emitter.on(name, h);
      return [name, h] as const;
    });
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`none of ${names.join(', ')} within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(t);
      for (const [n, h] of handlers) emitter.off(n, h);
    };
  });
}

/** Resolves once `predicate` is true, checking every 20 ms; rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What {@link useEchoServer} gives a test file. */
export interface EchoBed {
  /** The file's TCP echo server (available from beforeAll on). */
  readonly echo: TestServer;
  /** Cleanups run after each test, last registered first; a failed one does not hide the test's result. */
  readonly cleanup: Array<() => Promise<void>>;
}

/**
 * The setup the socket test files share: one echo server for the whole file, and per-test cleanups.
 * Call it at the top level of a test file.
 */
export function useEchoServer(): EchoBed {
  let server: TestServer | undefined;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
  });
  return {
    get echo(): TestServer {
      if (!server) throw new Error('the echo server starts in beforeAll: use it inside a test');
      return server;
    },
    cleanup,
  };
}

/**
 * A modem on a mock module with an {@link Interposer} on the wire, closed by `cleanup`. The 'tls'
 * variant gives the mock the field's `CLOSE OK` quirk of module-TLS links.
 */
export async function openInterposed(
  cleanup: EchoBed['cleanup'],
  rxMode: 'push' | 'pull',
  variant: 'plain' | 'tls',
): Promise<{ mock: MockModem; modem: Modem; wire: Interposer }> {
  const mockOpts: MockModemOptions = variant === 'tls' ? { quirks: ['tls-close-ok'] } : {};
  const mock = new MockModem(mockOpts);
  cleanup.push(() => mock.close());
  const wire = new Interposer(mock.hostStream());
  const modem = await Modem.open({
    stream: wire.host,
    rxMode,
    syncIntervalMs: 300,
    pollIntervalMs: 50,
    commandTimeoutMs: 5000,
  });
  cleanup.push(() => modem.close());
  return { mock, modem, wire };
}

/** The `PortInfo` of one USB interface (`itf`: '02', '04', '06') of an Air780 (19d1:0001). */
export const usbPort = (path: string, itf: string): PortInfo => ({
  path,
  manufacturer: 'EigenComm',
  serialNumber: '000000000001',
  pnpId: `usb-EigenComm_EigenComm_Compo_000000000001-if${itf}`,
  locationId: undefined,
  vendorId: '19d1',
  productId: '0001',
});
