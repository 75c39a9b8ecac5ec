import { Air780Error } from '../at/errors.js';

/** Options shared by the websocket error classes. */
export interface WsErrorOptions {
  cause?: unknown;
}

/** A URL that cannot name a websocket endpoint (`ERR_WS_URL`). */
export class WsUrlError extends Air780Error {
  constructor(message: string, options?: WsErrorOptions) {
    super('ERR_WS_URL', message, options);
    this.name = 'WsUrlError';
  }
}

/** A header name or value that cannot be sent (`ERR_WS_BAD_HEADER`). */
export class WsHeaderError extends Air780Error {
  constructor(message: string, options?: WsErrorOptions) {
    super('ERR_WS_BAD_HEADER', message, options);
    this.name = 'WsHeaderError';
  }
}

/**
 * An option of the websocket client that cannot be used (`ERR_WS_BAD_OPTION`), e.g. a
 * permessage-deflate window size outside 9–15. Thrown by the constructor, before any connection.
 */
export class WsOptionError extends Air780Error {
  constructor(message: string, options?: WsErrorOptions) {
    super('ERR_WS_BAD_OPTION', message, options);
    this.name = 'WsOptionError';
  }
}

/** Reaching the server failed: DNS, TCP, TLS (`ERR_WS_CONNECT`). `cause` holds the transport error. */
export class WsConnectError extends Air780Error {
  constructor(message: string, options?: WsErrorOptions) {
    super('ERR_WS_CONNECT', message, options);
    this.name = 'WsConnectError';
  }
}

/**
 * `websocket.create(null, ...)` (or a LuatOS adapter number) found no open module to connect
 * through (`ERR_WS_NO_ADAPTER`). Host sockets are never used silently in its place: pass
 * `'host'` (or `hostAdapter`) as the adapter for that.
 */
export class WsNoAdapterError extends Air780Error {
  constructor(options?: WsErrorOptions) {
    super(
      'ERR_WS_NO_ADAPTER',
      "No module is open: call Modem.open() first or pass one to websocket.create (use the adapter 'host' to connect through this computer's own network instead).",
      options,
    );
    this.name = 'WsNoAdapterError';
  }
}

/**
 * The server's answer to the opening handshake was not an acceptable `101` (`ERR_WS_HANDSHAKE`),
 * or it did not come in time (`ERR_WS_HANDSHAKE_TIMEOUT`), or a redirect cannot be followed: too
 * many, or a `Location` that is not a ws/wss/http/https URL (`ERR_WS_REDIRECT`).
 */
export class WsHandshakeError extends Air780Error {
  /** HTTP status of the answer, when one was received. */
  readonly statusCode: number | undefined;
  /** Response headers (lower-case names), when received. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** The first bytes of the response body (at most 1 KiB), for non-101 answers. */
  readonly body: Buffer | undefined;
  constructor(
    message: string,
    options?: WsErrorOptions & {
      code?: 'ERR_WS_HANDSHAKE' | 'ERR_WS_HANDSHAKE_TIMEOUT' | 'ERR_WS_REDIRECT';
      statusCode?: number;
      headers?: Record<string, string>;
      body?: Buffer;
    },
  ) {
    super(options?.code ?? 'ERR_WS_HANDSHAKE', message, options);
    this.name = 'WsHandshakeError';
    this.statusCode = options?.statusCode;
    this.headers = options?.headers;
    this.body = options?.body;
  }
}

/** Stable codes of {@link WsProtocolError}. */
export type WsProtocolErrorCode =
  | 'ERR_WS_PROTOCOL'
  | 'ERR_WS_INVALID_UTF8'
  | 'ERR_WS_MESSAGE_TOO_BIG'
  | 'ERR_WS_INFLATE';

/**
 * The server broke RFC 6455 (or the limits we set). The connection is failed with
 * `closeCode` (1002 protocol error, 1007 invalid payload, 1009 too big).
 */
export class WsProtocolError extends Air780Error {
  readonly closeCode: number;
  constructor(code: WsProtocolErrorCode, closeCode: number, message: string, options?: WsErrorOptions) {
    super(code, message, options);
    this.name = 'WsProtocolError';
    this.closeCode = closeCode;
  }
}

/**
 * `send` of a text message (or fragment) given as bytes that are not UTF-8 (`ERR_WS_INVALID_UTF8`).
 * Thrown before anything is framed: nothing was sent and the connection is unaffected (a server
 * would fail the connection with 1007 for such a frame).
 */
export class WsInvalidTextError extends Air780Error {
  constructor(message: string) {
    super('ERR_WS_INVALID_UTF8', message);
    this.name = 'WsInvalidTextError';
  }
}

/** `send`/`ping` on a connection that is not open (`ERR_WS_NOT_OPEN`). */
export class WsNotOpenError extends Air780Error {
  constructor(message = 'The websocket is not open: wait for the "open" event (or reconnect) before sending.') {
    super('ERR_WS_NOT_OPEN', message);
    this.name = 'WsNotOpenError';
  }
}

/** No pong came back within the keepalive deadline: the connection is considered dead (`ERR_WS_PONG_TIMEOUT`). */
export class WsPongTimeoutError extends Air780Error {
  constructor(ms: number) {
    super(
      'ERR_WS_PONG_TIMEOUT',
      `No pong within ${ms} ms of our ping: the link is dead or the server is stalled. Enable reconnect to replace the connection automatically.`,
    );
    this.name = 'WsPongTimeoutError';
  }
}

/** The connection closed before a pending operation completed (`ERR_WS_CLOSED`). */
export class WsClosedError extends Air780Error {
  constructor(message = 'The websocket closed before the operation completed.', options?: WsErrorOptions) {
    super('ERR_WS_CLOSED', message, options);
    this.name = 'WsClosedError';
  }
}
