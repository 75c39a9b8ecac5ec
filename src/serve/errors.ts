/** Errors of the proxy front ends (`air780 serve`); each has a stable `code`. */
import { Air780Error } from '../at/errors.js';

/** More clients already wait for a module link than `maxQueue` allows (`ERR_SERVE_QUEUE_FULL`). */
export class ServeQueueFullError extends Air780Error {
  constructor(limit: number) {
    super(
      'ERR_SERVE_QUEUE_FULL',
      `${limit} connections already wait for a module link; retry later, or raise --max-queue`,
    );
  }
}

/** A client waited `--queue-timeout` for a module link and got none (`ERR_SERVE_QUEUE_TIMEOUT`). */
export class ServeQueueTimeoutError extends Air780Error {
  constructor(ms: number) {
    super(
      'ERR_SERVE_QUEUE_TIMEOUT',
      `no module link became free within ${ms} ms; retry later, close idle tunnels, or raise --queue-timeout`,
    );
  }
}

/** No module is online to carry a new connection (`ERR_SERVE_NO_MODULE`). */
export class ServeNoModuleError extends Air780Error {
  constructor(states: string) {
    super('ERR_SERVE_NO_MODULE', `no module is online (${states}); new connections succeed once one is back`);
  }
}

/** The proxy is shutting down (`ERR_SERVE_CLOSED`). */
export class ServeClosedError extends Air780Error {
  constructor() {
    super('ERR_SERVE_CLOSED', 'the proxy is shutting down');
  }
}

/** The module path cannot carry this destination (an IPv6 address) (`ERR_SERVE_ADDRESS_TYPE`). */
export class ServeAddressTypeError extends Air780Error {
  constructor(what: string) {
    super('ERR_SERVE_ADDRESS_TYPE', `${what}: the module connects to IPv4 addresses and names only`);
  }
}
