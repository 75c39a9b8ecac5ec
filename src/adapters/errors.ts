import { Air780Error } from '../at/errors.js';

/**
 * A module failure told in the words Node's networking libraries understand: `code` is the errno
 * name a `net.Socket` would have used (`ECONNRESET`, `ECONNREFUSED`, `ETIMEDOUT`), so their retry
 * and reconnect logic works unchanged; `cause` is the driver's own error with its `ERR_…` code.
 */
export class ModemNetError extends Air780Error {
  /** As on Node's system errors: the operation that failed. */
  readonly syscall: string;

  constructor(code: 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT', syscall: string, cause: Error & { code?: string }) {
    super(code, `${syscall} ${code} through the module (${cause.code ?? cause.name}): ${cause.message}`, { cause });
    this.syscall = syscall;
  }
}

/** Every module link stayed taken for the whole wait of an agent or dispatcher (`ERR_LINK_WAIT_TIMEOUT`). */
export class LinkWaitTimeoutError extends Air780Error {
  constructor(waitedMs: number, options?: { cause?: unknown }) {
    super(
      'ERR_LINK_WAIT_TIMEOUT',
      `all 6 module links stayed in use for ${waitedMs} ms; close idle sockets (agent keepAlive pools hold links), lower maxSockets, or raise linkWaitMs`,
      options,
    );
  }
}

/** Too many connections already wait for a module link (`ERR_LINK_QUEUE_FULL`). */
export class LinkQueueFullError extends Air780Error {
  constructor(limit: number) {
    super(
      'ERR_LINK_QUEUE_FULL',
      `${limit} connections already wait for one of the 6 module links; retry later or raise maxQueued`,
    );
  }
}

/**
 * The module could not resolve a name (`AT+CDNSGIP` answered `+CDNSGIP:0,<err>`), or gave no
 * address of the family asked for. `code` is `ENOTFOUND` as from `dns.lookup`; `moduleError`
 * is the module's error number (10 general, 11 retries exhausted, 12 no server, 13 no memory,
 * 14 invalid name, 15 invalid response), undefined for a family mismatch.
 */
export class ModemLookupError extends Air780Error {
  readonly syscall = 'getaddrinfo';
  readonly hostname: string;
  readonly moduleError: number | undefined;

  constructor(hostname: string, detail: string, moduleError?: number, options?: { cause?: unknown }) {
    super(
      'ENOTFOUND',
      `getaddrinfo ENOTFOUND ${hostname}: the module could not resolve it (${detail}); check the name and the module's DNS (AT+CDNSCFG)`,
      options,
    );
    this.hostname = hostname;
    this.moduleError = moduleError;
  }
}

/** An optional peer dependency an adapter needs is not installed (`ERR_PEER_MISSING`). */
export class PeerDependencyMissingError extends Air780Error {
  constructor(pkg: string, what: string, options?: { cause?: unknown }) {
    super(
      'ERR_PEER_MISSING',
      `${what} needs the '${pkg}' package, which is not installed; run: npm install ${pkg}`,
      options,
    );
  }
}
