/**
 * The serial transport: open a port as a Duplex that is safe for simultaneous bulk reads and
 * writes, and list ports with the Air780's USB ids marked.
 *
 * On Linux the default binding is {@link TtyBinding} (see tty-binding.ts for why: the stock
 * `@serialport/bindings-cpp` poller drops a pending read wait while a write waits, and the reverse).
 * Elsewhere the stock binding is used. Any serialport binding can be injected (e.g. the mock's).
 */
import bindingsCpp from '@serialport/bindings-cpp';
import type { BindingInterface, BindingPortInterface, PortInfo } from '@serialport/bindings-cpp';
import { Air780Error } from '../../at/errors.js';
import { SerialDuplex } from './duplex.js';
import { osDetail, SerialOpenError, classifyOpenFailure } from './errors.js';
import { describePort, interfaceFromSysfs, type SerialPortInfo } from './ports.js';
import { TtyBinding } from './tty-binding.js';

export { SerialDuplex, type SerialDuplexOptions } from './duplex.js';
export { SerialClosedError, SerialDisconnectedError, SerialOpenError, type SerialOpenFailure } from './errors.js';
export {
  AIR780_USB_PRODUCT_ID,
  AIR780_USB_VENDOR_ID,
  atPortCandidates,
  describePort,
  interfaceFromIds,
  interfaceFromSysfs,
  type Air780PortRole,
  type SerialPortInfo,
} from './ports.js';
export { TtyBinding, TtyPortBinding } from './tty-binding.js';

/** Options of {@link openSerialPort}. */
export interface SerialOpenOptions {
  /** Device path, e.g. /dev/ttyACM2 (a symlink is fine). */
  path: string;
  /** Default 115200 (the module's default rate; ignored by USB ACM ports and ptys). */
  baudRate?: number;
  /** RTS/CTS hardware flow control (recommended on a UART above 115200). Default false. */
  rtscts?: boolean;
  /** Take an exclusive `flock` on the port so no other program can open it. Default true. */
  lock?: boolean;
  /** A serialport binding to open through instead of the default (e.g. the mock module's). */
  binding?: BindingInterface;
  /** Give up opening after this long (default 10 000 ms). */
  openTimeoutMs?: number;
  /** Stream buffer bound in bytes (default 64 KiB). */
  highWaterMark?: number;
}

const DEFAULT_BAUD_RATE = 115200;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

/** The binding used when none is injected: {@link TtyBinding} on Linux, the stock one elsewhere. */
export function defaultBinding(): BindingInterface {
  return process.platform === 'linux' ? (TtyBinding as unknown as BindingInterface) : bindingsCpp.autoDetect();
}

/**
 * Open a serial port (or one through an injected binding) as a {@link SerialDuplex}.
 * Resolves once open; rejects with a {@link SerialOpenError} (`ERR_PORT_OPEN`) that says why,
 * or an `ERR_BAD_ARGUMENT` error for invalid options.
 */
export async function openSerialPort(options: SerialOpenOptions): Promise<SerialDuplex> {
  const { path } = options;
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new Air780Error('ERR_BAD_ARGUMENT', 'openSerialPort needs a device path such as /dev/ttyACM2');
  }
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  if (!Number.isInteger(baudRate) || baudRate <= 0) {
    throw new Air780Error(
      'ERR_BAD_ARGUMENT',
      `baudRate must be a positive integer such as 115200, not ${String(baudRate)}`,
    );
  }
  const timeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  const binding = options.binding ?? defaultBinding();
  const opening = binding.open({ path, baudRate, rtscts: options.rtscts ?? false, lock: options.lock ?? true });

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // A late success must not leak an open port that nobody will ever close.
      opening
        .then(
          (port) => port.close(),
          () => undefined,
        )
        .catch(() => undefined);
      reject(new SerialOpenError(path, 'other', `no answer from the operating system within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  let port: BindingPortInterface;
  try {
    port = await Promise.race([opening, timeout]);
  } catch (err) {
    if (err instanceof SerialOpenError) throw err;
    throw new SerialOpenError(path, classifyOpenFailure(err), osDetail(err, path), { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return new SerialDuplex(port, { path, highWaterMark: options.highWaterMark });
}

/**
 * List serial ports with Air780 ports (USB 19d1:0001) marked and their USB interface numbers.
 * On Linux this needs `udevadm` (Debian package `udev`); ptys are never listed.
 */
export async function listPorts(
  options: { binding?: BindingInterface; sysRoot?: string } = {},
): Promise<SerialPortInfo[]> {
  const binding = options.binding ?? defaultBinding();
  const ports: PortInfo[] = await binding.list();
  return Promise.all(
    ports.map(async (p) =>
      describePort(
        p,
        process.platform === 'linux' || options.sysRoot ? await interfaceFromSysfs(p.path, options.sysRoot) : undefined,
      ),
    ),
  );
}
