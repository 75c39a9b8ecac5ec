import { Air780Error } from '../../at/errors.js';

/** Why a port could not be opened, derived from the operating system's answer. */
export type SerialOpenFailure = 'not-found' | 'permission' | 'busy' | 'not-a-tty' | 'other';

/** The serial port could not be opened (`ERR_PORT_OPEN`). `reason` tells the common causes apart. */
export class SerialOpenError extends Air780Error {
  readonly path: string;
  readonly reason: SerialOpenFailure;
  constructor(path: string, reason: SerialOpenFailure, detail: string, options?: { cause?: unknown }) {
    super('ERR_PORT_OPEN', `cannot open serial port ${path}: ${detail}; ${ADVICE[reason]}`, options);
    this.name = 'SerialOpenError';
    this.path = path;
    this.reason = reason;
  }
}

const ADVICE: Record<SerialOpenFailure, string> = {
  'not-found': 'check the path (`air780 ports` lists the ports; USB ports appear as /dev/ttyACM* or /dev/ttyUSB*)',
  permission:
    'give your user read/write access to the device (on Debian: add it to the dialout group and log in again)',
  busy: 'another program holds the port (a modem manager, a terminal, another bridge); stop it and retry',
  'not-a-tty': "the path is not a serial device; point it at the module's AT port",
  other: 'check the device and the path, then retry',
};

/**
 * The operating system's words from an open failure, as they read inside our message: the
 * binding's `Error: No such file or directory, cannot open /dev/ttyACM9` loses its nested `Error:`
 * prefix and the repeated path.
 */
export function osDetail(err: unknown, path: string): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^(?:\w*Error: )+/, '').replace(`, cannot open ${path}`, '');
}

/** Classify an error from `open(2)`/`flock(2)` as reported by Node or @serialport/bindings-cpp. */
export function classifyOpenFailure(err: unknown): SerialOpenFailure {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT' || /No such file or directory/i.test(message)) return 'not-found';
  if (code === 'EACCES' || code === 'EPERM' || /Permission denied/i.test(message)) return 'permission';
  if (code === 'EBUSY' || /Cannot lock port|Resource temporarily unavailable|busy/i.test(message)) return 'busy';
  if (code === 'ENOTTY' || /Inappropriate ioctl/i.test(message)) return 'not-a-tty';
  return 'other';
}

/**
 * The port went away while open (device unplugged, far end of a pty closed, I/O error).
 * Carried by the port's `'close'` event and `disconnectError`; `disconnected` is always true, as
 * on serialport's own `DisconnectedError`.
 */
export class SerialDisconnectedError extends Air780Error {
  readonly disconnected = true;
  readonly path: string;
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(
      'ERR_PORT_DISCONNECTED',
      `serial port ${path} disconnected (${detail}); check the cable or the module's power, then open the port again`,
      options,
    );
    this.name = 'SerialDisconnectedError';
    this.path = path;
  }
}

/** An operation on a port that is closed or closing (`ERR_PORT_CLOSED`). */
export class SerialClosedError extends Air780Error {
  constructor(path: string, operation: string) {
    super('ERR_PORT_CLOSED', `cannot ${operation}: serial port ${path} is closed; open it again`);
    this.name = 'SerialClosedError';
  }
}
