import { readdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { BindingInterface } from '@serialport/bindings-cpp';
import createDebug from 'debug';
import { AtChannel } from '../at/index.js';
import { ModemError, NoModemFoundError } from './errors.js';
import { atPortCandidates, listPorts, openSerialPort, type SerialPortInfo } from './serial/index.js';

const debug = createDebug('air780:modem:transport');

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
    let closed = false;
    return {
      get stream() {
        return current;
      },
      async reopen() {
        if (!reopen)
          throw new ModemError(
            'ERR_PORT_CLOSED',
            'the stream to the module closed and no reopen callback was given; pass { reopen } to Modem.open to survive a replug',
          );
        const stream = await reopen();
        if (closed) {
          stream.destroy();
          throw closedDuringReopen();
        }
        current = stream;
        return current;
      },
      async close() {
        closed = true;
        current.destroy();
      },
    };
  }
  const explicit = options.path ?? (process.env.AIR780_PORT || undefined);
  const discovery = { baudRate: options.baudRate, ...(options.binding ? { binding: options.binding } : {}) };
  let path = explicit ?? (await discoverPort(discovery));
  const open = () =>
    openSerialPort({
      path,
      ...(options.baudRate !== undefined ? { baudRate: options.baudRate } : {}),
      ...(options.rtscts !== undefined ? { rtscts: options.rtscts } : {}),
      ...(options.binding ? { binding: options.binding } : {}),
    });
  let current: Duplex = await open();
  let closed = false;
  const hint = explicit !== undefined ? await byIdHint(explicit) : undefined;
  if (hint) debug(hint);
  return {
    get stream() {
      return current;
    },
    async reopen() {
      // Closed first: its lock would make the probe or the open of the same path fail.
      await closePort(current);
      if (explicit === undefined) {
        // A replug may re-enumerate the module under other names (ttyACM2 → ttyACM3): find it
        // again. One bounded pass (open timeout and three short probes per candidate); a module
        // not back yet fails this attempt with ERR_NO_MODEM and the supervisor retries with back-off.
        const found = await discoverPort(discovery);
        if (found !== path) debug('the module came back on %s (was %s)', found, path);
        path = found;
      } else if (hint) {
        debug(hint);
      }
      if (closed) throw closedDuringReopen();
      const port = await open();
      // Closed while this attempt was discovering or opening (seconds): nobody would close it.
      if (closed) {
        await closePort(port);
        throw closedDuringReopen();
      }
      current = port;
      return current;
    },
    close: () => {
      closed = true;
      return closePort(current);
    },
  };
}

/**
 * Destroys `port` and resolves once it closed: a tty's lock goes only when its close completed,
 * and an open of the same path before that fails. Bounded: a port whose close never completes
 * must not hold up a reopen or close forever.
 */
function closePort(port: Duplex): Promise<void> {
  return new Promise<void>((resolve) => {
    if (port.closed) return resolve();
    const done = () => {
      clearTimeout(timer);
      port.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, 2000);
    port.once('close', done);
    port.destroy();
  });
}

function closedDuringReopen(): ModemError {
  return new ModemError('ERR_PORT_CLOSED', 'the modem was closed while its port was being reopened');
}

/** Names the kernel hands out in plug order: a replug can give the module other numbers. */
const UNSTABLE_TTY = /^tty(ACM|USB)\d+$/;

/**
 * @internal For an explicit path that can change on replug, a hint naming the stable udev link to use instead
 * (the `/dev/serial/by-id/` entry that points to it, when there is one); else undefined.
 */
export async function byIdHint(path: string, byIdDir = '/dev/serial/by-id'): Promise<string | undefined> {
  if (!UNSTABLE_TTY.test(basename(path))) return undefined;
  let stable: string | undefined;
  try {
    const target = await realpath(path);
    // One link per tty (the interface number is part of the name).
    for (const name of (await readdir(byIdDir)).slice(0, 256)) {
      const link = join(byIdDir, name);
      if ((await realpath(link).catch(() => undefined)) !== target) continue;
      stable = link;
      break;
    }
  } catch {
    // no such device or no udev links: the generic hint below
  }
  return `${path} is numbered in plug order and may change after a replug (then recovery cannot find the module): use ${stable ?? 'its /dev/serial/by-id/… link'} instead, or let discovery find the port (no path, no AIR780_PORT)`;
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
export async function discoverPorts(
  options: { baudRate?: number; binding?: BindingInterface; probeTimeoutMs?: number } = {},
): Promise<DiscoveredPort[]> {
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
export async function discoverPort(
  options: { baudRate?: number | undefined; binding?: BindingInterface } = {},
): Promise<string> {
  const ports = await listPorts(options.binding ? { binding: options.binding } : {});
  const candidates = atPortCandidates(ports);
  if (candidates.length === 0)
    throw new NoModemFoundError(`no USB 19d1:0001 serial port among ${ports.length} port(s)`);
  for (const p of candidates) {
    if (await probeAt(p.path, options)) return p.path;
  }
  throw new NoModemFoundError(`none of ${candidates.map((p) => p.path).join(', ')} answered AT`);
}

async function probeAt(
  path: string,
  options: { baudRate?: number | undefined; binding?: BindingInterface; probeTimeoutMs?: number },
): Promise<boolean> {
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
    // Awaited: the caller opens this very port next, once it answered.
    if (stream) await closePort(stream);
  }
}
