import type { Duplex } from 'node:stream';
import type { BindingInterface } from '@serialport/bindings-cpp';
import createDebug from 'debug';
import { AtChannel } from '../at/index.js';
import { ModemError, NoModemFoundError } from './errors.js';
import { atPortCandidates, listPorts, openSerialPort, type SerialPortInfo } from './serial/index.js';

const debug = createDebug('air780:modem');

/** Where the module is: a serial path (optionally through a binding), or any Duplex. */
export interface TransportOptions {
  /** Serial device, e.g. /dev/ttyACM2. Default: `AIR780_PORT`, else discovery. */
  path?: string;
  /** Default 115200. */
  baudRate?: number;
  /** RTS/CTS flow control on a UART. */
  rtscts?: boolean;
  /** Any Duplex to the module's AT port (e.g. `new MockModem().hostStream()`). */
  stream?: Duplex;
  /** A serialport binding to open `path` through (e.g. the mock's `binding()`). */
  binding?: BindingInterface;
  /** For an injected stream: gives a new stream after the old one closed (USB replug). */
  reopen?: () => Duplex | Promise<Duplex>;
}

/** @internal The open port and how to get it back after it closed. */
export interface Transport {
  readonly stream: Duplex;
  /** Opens the port again (one attempt; the caller retries with back-off). */
  reopen(): Promise<Duplex>;
  close(): Promise<void>;
}

/** @internal */
export async function openTransport(options: TransportOptions): Promise<Transport> {
  if (options.stream) {
    let current = options.stream;
    const reopen = options.reopen;
    return {
      get stream() {
        return current;
      },
      async reopen() {
        if (!reopen) throw new ModemError('ERR_PORT_CLOSED', 'the stream to the module closed and no reopen callback was given; pass { reopen } to Modem.open to survive a replug');
        current = await reopen();
        return current;
      },
      async close() {
        current.destroy();
      },
    };
  }
  const path = options.path ?? (process.env.AIR780_PORT || undefined) ?? (await discoverPort({ baudRate: options.baudRate, ...(options.binding ? { binding: options.binding } : {}) }));
  const open = () =>
    openSerialPort({
      path,
      ...(options.baudRate !== undefined ? { baudRate: options.baudRate } : {}),
      ...(options.rtscts !== undefined ? { rtscts: options.rtscts } : {}),
      ...(options.binding ? { binding: options.binding } : {}),
    });
  let current: Duplex = await open();
  return {
    get stream() {
      return current;
    },
    async reopen() {
      current.destroy();
      current = await open();
      return current;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (current.destroyed) return resolve();
        current.once('close', () => resolve());
        current.destroy();
        setTimeout(resolve, 2000).unref();
      }),
  };
}

/** A probed port. */
export interface DiscoveredPort extends SerialPortInfo {
  /** True when it answered `AT` with `OK`. */
  answersAt: boolean;
}

/**
 * List the serial ports, mark USB 19d1:0001 modules, and probe which of their CDC-ACM ports answers
 * `AT` (never the binary log port, interface 4).
 */
export async function discoverPorts(options: { baudRate?: number; binding?: BindingInterface; probeTimeoutMs?: number } = {}): Promise<DiscoveredPort[]> {
  const ports = await listPorts(options.binding ? { binding: options.binding } : {});
  const candidates = new Set(atPortCandidates(ports).map((p) => p.path));
  const out: DiscoveredPort[] = [];
  for (const p of ports) {
    const answersAt = candidates.has(p.path) ? await probeAt(p.path, options) : false;
    out.push({ ...p, answersAt });
  }
  return out;
}

/** The first Air780 port that answers AT (interface 6 first, then 2), else ERR_NO_MODEM. */
export async function discoverPort(options: { baudRate?: number | undefined; binding?: BindingInterface } = {}): Promise<string> {
  const ports = await listPorts(options.binding ? { binding: options.binding } : {});
  const candidates = atPortCandidates(ports);
  if (candidates.length === 0) throw new NoModemFoundError(`no USB 19d1:0001 serial port among ${ports.length} port(s)`);
  for (const p of candidates) {
    if (await probeAt(p.path, options)) return p.path;
  }
  throw new NoModemFoundError(`none of ${candidates.map((p) => p.path).join(', ')} answered AT`);
}

async function probeAt(path: string, options: { baudRate?: number | undefined; binding?: BindingInterface; probeTimeoutMs?: number }): Promise<boolean> {
  let stream: Duplex | undefined;
  try {
    stream = await openSerialPort({
      path,
      ...(options.baudRate !== undefined ? { baudRate: options.baudRate } : {}),
      ...(options.binding ? { binding: options.binding } : {}),
      openTimeoutMs: 3000,
    });
    const at = new AtChannel(stream, { name: `probe ${path}` });
    try {
      for (let i = 0; i < 3; i++) {
        try {
          await at.send('AT', { timeoutMs: options.probeTimeoutMs ?? 700 });
          return true;
        } catch {
          // boot garbage or a busy port: try again
        }
      }
      return false;
    } finally {
      at.close();
    }
  } catch (err) {
    debug('probe %s: %s', path, (err as Error).message);
    return false;
  } finally {
    stream?.destroy();
  }
}
