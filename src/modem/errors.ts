import { Air780Error } from '../at/errors.js';

/** Base class of the driver's errors; `code` is stable. */
export class ModemError extends Air780Error {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ModemError';
  }
}

/** The module answered `<n>, CONNECT FAIL` (refused, unreachable, DNS failure or TLS handshake failure). */
export class ConnectFailedError extends ModemError {
  constructor(host: string, port: number, detail: string, options?: { cause?: unknown }) {
    super(
      'ERR_CONNECT_FAILED',
      `connection to ${host}:${port} failed (${detail}); check the host, port and, for module TLS, the server's TLS versions and CA`,
      options,
    );
    this.name = 'ConnectFailedError';
  }
}

/** No `CONNECT OK` within the timeout (black-holed addresses never answer). */
export class ConnectTimeoutError extends ModemError {
  constructor(host: string, port: number, ms: number) {
    super(
      'ERR_CONNECT_TIMEOUT',
      `no answer connecting to ${host}:${port} within ${ms} ms; the address may be unreachable from the cellular network`,
    );
    this.name = 'ConnectTimeoutError';
  }
}

/** The link was closed (by the peer, the module or a failed command) while in use. */
export class LinkClosedError extends ModemError {
  constructor(link: number, detail: string, options?: { cause?: unknown }) {
    super('ERR_LINK_CLOSED', `link ${link} closed: ${detail}; open a new connection`, options);
    this.name = 'LinkClosedError';
  }
}

/** The module rebooted, lost its bearer or its port while the socket was open. */
export class ModemResetError extends ModemError {
  constructor(reason: string) {
    super(
      'ERR_MODEM_RESET',
      `the module went away (${reason}); the socket is gone, open a new one once the modem is back online`,
    );
    this.name = 'ModemResetError';
  }
}

/** All six links (0–5) are in use. */
export class NoFreeLinkError extends ModemError {
  constructor() {
    super('ERR_NO_FREE_LINK', 'all 6 module links are in use; close a socket before opening another');
    this.name = 'NoFreeLinkError';
  }
}

/** `AT+CPIN?` answered `+CME ERROR: 10` or `SIM REMOVED`. */
export class SimAbsentError extends ModemError {
  constructor() {
    super('ERR_SIM_ABSENT', 'no SIM card detected; insert a SIM (power the module off first) and retry');
    this.name = 'SimAbsentError';
  }
}

/** The SIM is locked by a PIN (or a PUK after too many wrong PINs). */
export class SimLockedError extends ModemError {
  constructor(kind: 'pin' | 'puk') {
    super(
      kind === 'pin' ? 'ERR_SIM_PIN' : 'ERR_SIM_PUK',
      kind === 'pin'
        ? 'the SIM asks for a PIN; unlock it (AT+CPIN="1234") or remove the PIN lock in a phone'
        : 'the SIM is PUK-locked; unlock it with the PUK in a phone',
    );
    this.name = 'SimLockedError';
  }
}

/** Module TLS switches TLS on for every link: TLS and plain links cannot be open together. */
export class TlsMixedError extends ModemError {
  constructor(wanted: 'tls' | 'plain') {
    super(
      'ERR_TLS_MIXED',
      wanted === 'tls'
        ? 'module TLS cannot be used while plain links are open (AT+CIPSSL is module-wide); close them, or use host TLS (tls: "host")'
        : 'plain links cannot be opened while module-TLS links are open (AT+CIPSSL is module-wide); close them, or use host TLS (tls: "host")',
    );
    this.name = 'TlsMixedError';
  }
}

/** A bring-up step did not complete in time (no registration, no attach, no bearer...). */
export class BringUpError extends ModemError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BringUpError';
  }
}

/** The modem is closed or not online (recovering) and cannot take the request. */
export class ModemNotReadyError extends ModemError {
  constructor(state: string) {
    super(
      'ERR_MODEM_NOT_READY',
      `the modem is ${state}; wait for the 'online' state (or open it again if it is closed)`,
    );
    this.name = 'ModemNotReadyError';
  }
}

/** `waitAcked` did not see the acknowledgement in time. */
export class DeliveryTimeoutError extends ModemError {
  constructor(offset: number, acked: number, ms: number) {
    super(
      'ERR_DELIVERY_TIMEOUT',
      `the peer acknowledged ${acked} bytes, not ${offset}, within ${ms} ms; the link may be stalled`,
    );
    this.name = 'DeliveryTimeoutError';
  }
}

/** Push mode cannot stop the module from sending: a reader that never reads hits this bound. */
export class ReceiveOverflowError extends ModemError {
  constructor(link: number, limit: number) {
    super(
      'ERR_RX_OVERFLOW',
      `link ${link}: more than ${limit} unread bytes buffered in push mode; read the socket, or use rxMode 'pull' for backpressure`,
    );
    this.name = 'ReceiveOverflowError';
  }
}

/** Why a link's byte stream has a gap ({@link DataLostError}). */
export type DataLossReason = 'silence' | 'misaligned' | 'unaccepted';

const DATA_LOST_TEXT: Record<DataLossReason, string> = {
  silence:
    "received data stopped arriving part-way through a block and the module is still up, so bytes were lost on the serial line; reconnect. Check the wiring and the module's power supply",
  misaligned:
    'received data did not end where the module announced (bytes dropped or added on the serial line); reconnect. Check the wiring, cable length and baud rate',
  unaccepted:
    'the module kept accepting none of the bytes it was given; the unsent bytes were dropped, open a new connection and send again',
};

/**
 * The link's byte stream has a gap (`ERR_DATA_LOST`), so the socket fails rather than go on.
 * Received: a block stopped arriving part-way while the module stayed up (`silence`), or did not
 * end where announced, bytes dropped or added by line noise (`misaligned`). Sent: the module kept
 * accepting less than it was given, `DATA ACCEPT:<n>,<len>` short of the send (`unaccepted`), and
 * no byte it did not take is reported accepted.
 */
export class DataLostError extends ModemError {
  readonly reason: DataLossReason;
  constructor(link: number, reason: DataLossReason, options?: { cause?: unknown; detail?: string }) {
    super(
      'ERR_DATA_LOST',
      `link ${link}: ${options?.detail ? `${options.detail}: ` : ''}${DATA_LOST_TEXT[reason]}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'DataLostError';
    this.reason = reason;
  }
}

/** Discovery found no port that answers AT. */
export class NoModemFoundError extends ModemError {
  constructor(detail: string) {
    super('ERR_NO_MODEM', `no Air780 module found (${detail}); plug it in, set AIR780_PORT, or pass { path }`);
    this.name = 'NoModemFoundError';
  }
}

/** A socket idle timeout or operation was aborted. */
export class ModemAbortError extends ModemError {
  constructor(what: string) {
    super('ERR_ABORTED', `${what} was aborted`);
    this.name = 'ModemAbortError';
  }
}
