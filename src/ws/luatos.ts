import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { WebSocketClient, type WebSocketClientOptions } from './client.js';
import { BadArgumentError } from '../at/errors.js';
import {
  WsHandshakeError,
  WsProtocolError,
  WsUrlError,
  WsConnectError,
  WsNoAdapterError,
  WsClosedError,
  WsInvalidTextError,
  WsNotOpenError,
} from './errors.js';
import { parseHeaderString, checkHeaders } from './headers.js';
import { DEFAULT_RECONNECT_MS, MIN_RECONNECT_MS } from './reconnect.js';
import { hostConnect, openerConnect, type ConnectFn, type StreamOpener, type WsTlsOptions } from './transport.js';
import { parseWsUrl } from './url.js';

const trace = createDebug('air780:ws');

/** LuatOS event names. */
export type LuatWsEvent = 'conack' | 'recv' | 'sent' | 'disconnect' | 'error';

/** `payload` of a `recv` event: `fin` 1 ends the message; `opcode` 1 text, 2 binary, 0 continuation. */
export interface LuatRecvPayload {
  fin: 0 | 1;
  opcode: 0 | 1 | 2;
}

/** What went wrong, as the `data` of an `error` event (the firmware's error kinds). */
export type LuatErrorKind = 'connect' | 'tx' | 'rx';

/**
 * Event name, `data` and `payload` of each LuatOS event (the callback always gets all four
 * arguments). `recv`: `data` is a string (text) or Buffer (binary; and every frame with
 * `frames: true`), `payload` `{ fin, opcode }`. `error`: `data` the kind, `payload` the Error.
 */
export type LuatWsEventData =
  | [event: 'conack', data: undefined, payload: undefined]
  | [event: 'recv', data: string | Buffer, payload: LuatRecvPayload]
  | [event: 'sent', data: undefined, payload: undefined]
  | [event: 'disconnect', data: undefined, payload: undefined]
  | [event: 'error', data: LuatErrorKind, payload: Error];

/** The arguments of the LuatOS callback: a union of tuples, so that testing `event` narrows `data` and `payload`. */
export type LuatWsEventArgs = [client: LuatWebSocket, ...event: LuatWsEventData];

/**
 * The LuatOS callback, `(client, event, data, payload)`. Its arguments are typed per event:
 * `if (event === 'recv') payload.opcode` type-checks, and `data` is the error kind after
 * `event === 'error'`. A callback written with wider parameter types (e.g. `event: string`) fits too.
 */
export type LuatWsCallback = (...args: LuatWsEventArgs) => void;

/**
 * A callback with untyped-per-event arguments, for callbacks that take fewer than four parameters
 * (`(client, event) => ...`) or declare wider types themselves. Accepted by {@link LuatWebSocket.on}.
 */
export type LuatWsLooseCallback = (
  client: LuatWebSocket,
  event: LuatWsEvent,
  data?: string | Buffer,
  payload?: LuatRecvPayload | Error,
) => void;

/** Options beyond the firmware's arguments (5th argument of `websocket.create`, or 3rd as an object). */
export interface LuatCreateOptions extends WsTlsOptions {
  /** Keepalive in seconds (default 60; fractions allowed). */
  keepalive?: number;
  /** Accepted for compatibility: DNS family is the transport's business here. */
  use_ipv6?: boolean;
  /** Deliver `recv` per frame, as the firmware does, instead of whole messages. */
  frames?: boolean;
  /** Override the transport (tests, custom stacks). */
  connect?: ConnectFn;
  /** Passed to the core client (maxPayload, perMessageDeflate, handshakeTimeoutMs, ...). */
  client?: Omit<
    WebSocketClientOptions,
    'connect' | 'autoConnect' | 'frames' | 'keepaliveMs' | 'reconnect' | 'headers' | 'tls'
  >;
}

/**
 * Uses this computer's own network (`net`/`tls`) instead of a module: for tests and PC use.
 * Pass it (or the string `'host'`) as the adapter of `websocket.create`.
 */
export const hostAdapter = 'host' as const;

/**
 * An adapter: a `Modem` (anything with `openStream`); `'host'` ({@link hostAdapter}) for the host's
 * own sockets; null/undefined or a LuatOS adapter number for `Modem.default`, the most recently
 * opened module (never the host's network: with no module open, connecting fails with
 * `ERR_WS_NO_ADAPTER`).
 */
export type LuatAdapter = StreamOpener | typeof hostAdapter | null | undefined | number;

/** `Modem.default`, looked up at each connect so that a module opened after `create()` is used. */
async function defaultOpener(): Promise<StreamOpener> {
  let opener: StreamOpener | undefined;
  try {
    const mod = await import('../modem/index.js');
    opener = mod.Modem.default;
  } catch (err) {
    throw new WsNoAdapterError({ cause: err });
  }
  if (!opener) throw new WsNoAdapterError();
  return opener;
}

/**
 * A LuatOS-style websocket client (what `websocket.create` returns). Events go to the one
 * callback set with {@link LuatWebSocket.on}, asynchronously and in order.
 */
export class LuatWebSocket {
  private readonly core: WebSocketClient;
  private cb: LuatWsCallback | null = null;
  private released = false;
  private isReady = false;
  /** An `error` 'tx' was posted since the last `conack`: one per connection, like the firmware. */
  private txErrorPosted = false;
  /** Whether an `error` event was already posted for the current connection. */
  private errorThisConnection = false;
  private reconnectOn = false;
  private reconnectMs = DEFAULT_RECONNECT_MS;
  private readonly events: Array<() => void> = [];
  private flushing = false;
  private readonly log: createDebug.Debugger;
  /** Why the last `connect`, `send` or `headers` returned false (null after one that returned true). */
  private refusal: Error | null = null;

  /** @internal use `websocket.create`. */
  constructor(url: string, connect: ConnectFn, keepaliveMs: number, options: LuatCreateOptions) {
    this.log = createDebug(`air780:ws:luat`);
    this.core = new WebSocketClient(url, {
      ...options.client,
      connect,
      autoConnect: false,
      keepaliveMs,
      frames: !!options.frames,
      reconnect: false,
    });
    const c = this.core;
    c.on('open', () => {
      this.isReady = true;
      this.txErrorPosted = false;
      this.post('conack');
    });
    c.on('message', (data) => this.post('recv', data, { fin: 1, opcode: typeof data === 'string' ? 1 : 2 }));
    // Frame by frame, text stays a Buffer: a frame boundary may split a UTF-8 character.
    c.on('fragment', (data, fin, opcode) => this.post('recv', data, { fin: fin ? 1 : 0, opcode: opcode as 0 | 1 | 2 }));
    c.on('error', (err) => {
      this.errorThisConnection = true;
      this.post('error', errorKind(err), err);
    });
    c.on('close', (code, _reason, wasClean) => {
      this.isReady = false;
      // The firmware reports a dropped link (FIN/RST without a close frame) as error("connect")
      // before disconnect; a clean close handshake is a plain disconnect.
      if (!wasClean && !this.errorThisConnection) {
        this.post(
          'error',
          'connect',
          new WsClosedError(`The connection dropped without a close handshake (code ${code}).`),
        );
      }
      this.errorThisConnection = false;
      this.post('disconnect');
    });
  }

  private post(...args: LuatWsEventData | ['conack' | 'sent' | 'disconnect']): void {
    if (this.released) return;
    const [event, data, payload] = args;
    this.events.push(() => {
      if (this.released || !this.cb) return;
      try {
        this.cb(this, ...([event, data, payload] as LuatWsEventData));
      } catch (err) {
        trace('exception in the websocket callback for "%s": %s', event, (err as Error).message);
      }
    });
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => {
        this.flushing = false;
        for (const run of this.events.splice(0)) run();
      });
    }
  }

  /**
   * Sets the one event callback (a non-function clears it). A callback with all four parameters
   * gets them typed per event: after `if (event === 'recv')`, `payload` is a {@link LuatRecvPayload}.
   */
  on(cb: LuatWsCallback | null | undefined): void;
  /** A callback with fewer parameters, or its own wider parameter types. */
  on(cb: LuatWsLooseCallback): void;
  on(cb: LuatWsCallback | LuatWsLooseCallback | null | undefined): void {
    this.cb = typeof cb === 'function' ? (cb as LuatWsCallback) : null;
  }

  /** Starts connecting; true if the attempt started (check `ready()` / wait for `conack`). */
  connect(): boolean {
    if (this.released) return this.refuse('connect', releasedError());
    if (this.reconnectOn) this.core.setReconnect({ strategy: 'fixed', intervalMs: this.reconnectMs });
    if (this.core.connect()) return this.accept();
    return this.refuse(
      'connect',
      new WsNotOpenError(
        `The client is already ${this.core.state}: call disconnect() first, or wait for 'disconnect'.`,
      ),
    );
  }

  /**
   * Why this client's most recent `connect()`, `send()` or `headers()` returned false, as an Error
   * with a stable `code` (`ERR_WS_NOT_OPEN` before `conack`, `ERR_WS_INVALID_UTF8`,
   * `ERR_WS_BAD_HEADER`, `ERR_WS_CLOSED` after `close()`, `ERR_BAD_ARGUMENT`); null when that call
   * returned true. The LuatOS return values stay as they are; this is where their reason lives.
   */
  lastError(): Error | null {
    return this.refusal;
  }

  private refuse(what: 'connect' | 'send' | 'headers', err: Error): false {
    this.refusal = err;
    this.log('%s refused: %s', what, err.message);
    return false;
  }

  private accept(): true {
    this.refusal = null;
    return true;
  }

  /** Automatic reconnect at a fixed interval (default 3000 ms, minimum 1000 ms). */
  autoreconn(reconnect: unknown, reconnect_time?: number): void {
    this.reconnectOn = !!reconnect;
    if (this.reconnectOn) {
      const t =
        typeof reconnect_time === 'number' && Number.isFinite(reconnect_time) ? reconnect_time : DEFAULT_RECONNECT_MS;
      this.reconnectMs = Math.max(MIN_RECONNECT_MS, t);
      this.core.setReconnect({ strategy: 'fixed', intervalMs: this.reconnectMs });
    } else this.core.setReconnect(false);
  }

  /**
   * Sends `data`. `fin` 1 (default) ends the message, 0 leaves it open for more frames; `opt` 0
   * (default) text, 1 binary (taken from the message's first frame). False when not ready, and
   * false for text given as bytes that are not UTF-8 (`opt` 0 with a Buffer): nothing is sent, no
   * event is posted and the connection stays up (the server would have failed it). The reason of a
   * false is {@link LuatWebSocket.lastError} (`ERR_WS_NOT_OPEN`, `ERR_WS_INVALID_UTF8`, ...). Send
   * such bytes with `opt` 1.
   *
   * Over a module, the first message it never accepts gets `error` 'tx' with the Error
   * (`ERR_LINK_CLOSED`, `ERR_MODEM_RESET`, `ERR_DELIVERY_TIMEOUT`): one per connection, as the
   * firmware posts one; further failed messages of that connection are only traced. When the link
   * is lost it comes before the connection's own `error` ('connect' for a dropped link) and
   * `disconnect`; a stall alone (`ERR_DELIVERY_TIMEOUT`) does not disconnect.
   */
  send(data: string | Buffer | Uint8Array | number, fin: number = 1, opt: number = 0): boolean {
    if (this.released) return this.refuse('send', releasedError());
    if (!this.isReady || this.core.state !== 'open') {
      return this.refuse(
        'send',
        new WsNotOpenError(
          "send() before 'conack': nothing was sent. Send from the 'conack' event on (ready() is true between 'conack' and 'disconnect').",
        ),
      );
    }
    if (typeof data !== 'string' && typeof data !== 'number' && !(data instanceof Uint8Array)) {
      return this.refuse(
        'send',
        new BadArgumentError('data', 'send() takes a string, a Buffer/Uint8Array or a number.'),
      );
    }
    const payload = typeof data === 'number' ? String(data) : data;
    try {
      this.core.send(
        payload,
        {
          binary: opt === 1,
          fin: fin !== 0,
          onAcked: (err) => {
            if (!err) this.post('sent');
          },
        },
        (err) => {
          if (!err) return;
          // A lost link fails every message it had not accepted: one event says so (the firmware's
          // single error 'tx'); the rest are traced.
          if (this.txErrorPosted) return this.log('send failed: %s', err.message);
          this.txErrorPosted = true;
          this.post('error', 'tx', err);
        },
      );
    } catch (err) {
      // Refused before framing, like the firmware's type check: a false return, not error+disconnect.
      if (!(err instanceof WsInvalidTextError)) throw err;
      return this.refuse('send', err);
    }
    return this.accept();
  }

  /** Sends a close frame and releases the client: no event is delivered after this call. */
  close(): void {
    if (this.released) return;
    this.released = true;
    this.isReady = false;
    this.cb = null;
    this.events.length = 0;
    this.core.removeAllListeners();
    this.core.on('error', () => {});
    this.core.close();
  }

  /** Closes the connection but keeps the client usable: `disconnect` fires, no auto-reconnect until `connect()`. */
  disconnect(): void {
    if (this.released) return;
    this.isReady = false;
    this.core.close();
  }

  /** True between `conack` and `disconnect`. */
  ready(): boolean {
    return !this.released && this.isReady && this.core.state === 'open';
  }

  /**
   * Extra handshake headers for the next connect: an object `{ Name: 'value' }` or a string of
   * `Name: value\r\n` lines. Returns false (keeping the old headers) if a name is not an HTTP token,
   * a value holds CR/LF/NUL, or a handshake header would be overridden.
   */
  headers(h: Record<string, string | number> | string): boolean {
    if (this.released) return this.refuse('headers', releasedError());
    try {
      const pairs =
        typeof h === 'string' ? parseHeaderString(h) : typeof h === 'object' && h !== null ? checkHeaders(h) : null;
      if (!pairs)
        return this.refuse(
          'headers',
          new BadArgumentError(
            'headers',
            "headers() takes { Name: 'value' } or a string of 'Name: value\\r\\n' lines.",
          ),
        );
      this.core.setHeaders(pairs);
      return this.accept();
    } catch (err) {
      return this.refuse('headers', err as Error);
    }
  }

  /** Turns this client's trace on or off (namespace air780:ws:<n>; credential headers and query values redacted). */
  debug(onoff: unknown): void {
    if (typeof onoff !== 'boolean' || this.released) return;
    this.core.setTrace(onoff);
    this.log.enabled = onoff;
  }

  /** The core client underneath, for what the LuatOS API does not cover. */
  get client(): WebSocketClient {
    return this.core;
  }
}

function releasedError(): WsClosedError {
  return new WsClosedError('This client was released with close(): create a new one with websocket.create().');
}

function errorKind(err: Error): LuatErrorKind {
  if (err instanceof WsConnectError) return 'connect';
  if ((err as { code?: string }).code === 'ERR_WS_HANDSHAKE_TIMEOUT') return 'connect';
  if (err instanceof WsHandshakeError || err instanceof WsProtocolError) return 'rx';
  if ((err as { code?: string }).code === 'ERR_WS_PONG_TIMEOUT') return 'rx';
  return 'connect';
}

/**
 * `websocket.create(adapter, url, keepalive, use_ipv6, options?)` — or `create(adapter, url, options)`.
 *
 * `adapter`:
 * - a `Modem` (anything with `openStream`): connect through that module;
 * - null/undefined (or a LuatOS adapter number): through `Modem.default`, the most recently opened
 *   module, looked up at each connect. With none open, `connect()` still returns true and the
 *   callback gets `error` ('connect', a `WsNoAdapterError` `ERR_WS_NO_ADAPTER`) then `disconnect`:
 *   a program that forgot `Modem.open()` never silently uses the host's network;
 * - `'host'` ({@link hostAdapter}): this computer's own `net`/`tls` sockets (tests, PC use).
 *
 * Returns null, like the firmware's nil, when the URL is unusable or the adapter is not one; the
 * reason is `websocket.lastError()` (and traced on air780:ws). In TypeScript, check it before use:
 * `const wsc = websocket.create(modem, url, 60); if (!wsc) throw new Error('bad URL or adapter');`
 */
function create(
  adapter: LuatAdapter,
  url: string,
  keepalive?: number | LuatCreateOptions,
  use_ipv6?: boolean,
  options?: LuatCreateOptions,
): LuatWebSocket | null {
  createError = null;
  const opts: LuatCreateOptions =
    typeof keepalive === 'object' && keepalive !== null ? { ...keepalive } : { ...options };
  if (typeof keepalive === 'number') opts.keepalive = keepalive;
  if (typeof use_ipv6 === 'boolean') opts.use_ipv6 = use_ipv6;
  if (typeof url !== 'string')
    return createRefused(
      new WsUrlError('websocket.create: the URL must be a string such as "wss://example.com/path".'),
    );
  try {
    parseWsUrl(url);
  } catch (err) {
    if (err instanceof WsUrlError) return createRefused(err);
    throw err;
  }
  let connect: ConnectFn;
  if (opts.connect) connect = opts.connect;
  else if (adapter === hostAdapter) connect = hostConnect(opts);
  else if (adapter !== null && adapter !== undefined && typeof adapter !== 'number') {
    if (typeof adapter !== 'object' || typeof (adapter as StreamOpener).openStream !== 'function') {
      return createRefused(
        new BadArgumentError(
          'adapter',
          "websocket.create: the adapter must be a Modem (from Modem.open()), null for the most recently opened one, or 'host'.",
        ),
      );
    }
    connect = openerConnect(adapter, opts);
  } else {
    connect = async (t): Promise<Duplex> => openerConnect(await defaultOpener(), opts)(t);
  }
  const ka = opts.keepalive;
  const keepaliveMs = typeof ka === 'number' && Number.isFinite(ka) && ka > 0 ? ka * 1000 : 60_000;
  return new LuatWebSocket(url, connect, keepaliveMs, opts);
}

/** Why the most recent `websocket.create` returned null. */
let createError: Error | null = null;

function createRefused(err: Error): null {
  createError = err;
  trace('websocket.create: %s', err.message);
  return null;
}

/**
 * Why the most recent `websocket.create()` returned null (`ERR_WS_URL`, `ERR_BAD_ARGUMENT`), as an
 * Error whose message says what to change; null when it returned a client. A client's own refusals
 * (`send`, `connect`, `headers` returning false) are on its `lastError()`.
 */
function lastError(): Error | null {
  return createError;
}

/** The LuatOS `websocket` library, plus `lastError()` for the reason behind a null `create`. */
export const websocket = { create, lastError };
