import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import {
  failConnection,
  onCloseFrame,
  onPeerEnd,
  onStreamClosed,
  settleClosed,
  startClose,
  type ClosingHost,
} from './closing.js';
import { canWrite, type Connection } from './connection.js';
import {
  CloseCode,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
} from './constants.js';
import { acceptDeflate, checkDeflateOptions, PerMessageDeflate } from './deflate.js';
import { WsClosedError, WsHandshakeError, WsNotOpenError } from './errors.js';
import { validateUpgrade, type ResponseHead } from './handshake.js';
import { checkHeaderValue, checkHeaders, checkProtocols, checkRedirectHeaders, type HeaderInput } from './headers.js';
import { answerPing, holdInput, updateInput, type InputHost } from './input-hold.js';
import { now, startKeepalive } from './keepalive.js';
import { DEFAULT_MAX_QUEUED_BYTES, MessageQueues } from './message-queue.js';
import { openConnection, type OpeningSettings } from './opening.js';
import { Receiver } from './receiver.js';
import { ReconnectSchedule, type ReconnectOptions } from './reconnect.js';
import { Sender } from './sender.js';
import { afterWrite, deliveryOf, refuseSend, SendOrder, toBuffer } from './sending.js';
import { hostConnect } from './transport.js';
import type {
  SendOptions,
  SendWaitFor,
  WebSocketClientEvents,
  WebSocketClientOptions,
  WsMessage,
  WsState,
} from './types.js';
import { parseWsUrl, redactUrl, type WsTarget } from './url.js';

const trace = createDebug('air780:ws');
let clientSeq = 0;

// Kept importable from here: index.ts and luatos.ts take them from client.js.
export type {
  WebSocketClientOptions,
  SendOptions,
  SendWaitFor,
  WsState,
  WsMessage,
  WebSocketClientEvents,
} from './types.js';

/**
 * RFC 6455 websocket client over any Duplex: a host socket, or a modem stream through the
 * `connect` option. With `reconnect`, one client object survives connection losses: 'open' and
 * 'close' then fire for each connection.
 *
 * The client owns the state, the events and the current connection; the work is delegated by job:
 * opening.ts (connect, handshake, redirects), closing.ts (closing handshake and end of stream),
 * keepalive.ts, reconnect.ts (when to retry), sending.ts (send callbacks), message-queue.ts (async
 * iteration), input-hold.ts (when reading stops), with the Sender/Receiver doing the framing.
 */
export class WebSocketClient extends EventEmitter<WebSocketClientEvents> {
  /** The URL as given (password redacted). */
  readonly url: string;
  private readonly target: WsTarget;
  private readonly opts: WebSocketClientOptions;
  private readonly log: createDebug.Debugger;
  private readonly opening: OpeningSettings;
  private readonly closing: ClosingHost;
  private readonly input: InputHost;
  private _state: WsState = 'idle';
  private conn: Connection | null = null;
  private attemptAbort: AbortController | null = null;
  private readonly reconnect = new ReconnectSchedule();
  private stopped = false;
  private _protocol = '';
  private readonly iterators: MessageQueues;
  /** A `for await` queue is full: reading stops (on this and any next connection) until it drains. */
  private inputPaused = false;

  constructor(url: string | URL, options: WebSocketClientOptions = {}) {
    super();
    this.target = parseWsUrl(url);
    this.url = this.target.display;
    this.opts = options;
    const connect = options.connect ?? hostConnect(options.tls);
    this.log = createDebug(`air780:ws:${++clientSeq}`);
    if (options.trace) this.log.enabled = true;
    this.iterators = new MessageQueues({
      limitBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
      pause: () => this.setInputPaused(true),
      resume: () => this.setInputPaused(false),
      delivered: () => this.listenerCount('message') > 0,
      log: this.log,
    });
    // 'newListener' is not in the typed event map; it is an EventEmitter event all the same.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message') this.iterators.listenerAdded();
    });
    // Everything that ends up in the request head is checked here, before any connection, so a
    // mistake (or hostile input passed through) throws at once instead of injecting header lines.
    const protocols = checkProtocols(options.protocols);
    if (options.origin !== undefined) checkHeaderValue('the origin option', options.origin);
    const deflateOptions = checkDeflateOptions(options.perMessageDeflate);
    const headers = options.headers !== undefined ? checkHeaders(options.headers) : [];
    checkRedirectHeaders(options.redirectHeaders);
    this.opening = {
      url: redactUrl(this.url),
      origin: options.origin,
      protocols,
      deflateOptions,
      headers,
      connect,
      limits: options,
      log: this.log,
    };
    const client = this;
    this.closing = {
      get state() {
        return client._state;
      },
      set state(s: WsState) {
        client._state = s;
      },
      get closeTimeoutMs() {
        return client.opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      },
      log: this.log,
      emitError: (err) => this.emitError(err),
      finish: (code, reason, wasClean) => this.finish(code, reason, wasClean),
    };
    this.input = {
      get paused() {
        return client.inputPaused;
      },
      log: this.log,
    };
    if (options.autoConnect !== false) this.connect();
  }

  /** Current state. */
  get state(): WsState {
    return this._state;
  }

  /** The subprotocol the server chose ('' if none). */
  get protocol(): string {
    return this._protocol;
  }

  /** The negotiated extensions ('' or 'permessage-deflate'). */
  get extensions(): string {
    return this.conn?.deflate ? 'permessage-deflate' : '';
  }

  /**
   * Bytes given to send() and not yet handed to the stream (frame payloads waiting in the sender),
   * plus the stream's `writableLength` (written bytes whose write has not completed). Over the
   * module it does not count what the link has taken into its own send queue (below its high-water
   * mark, ~6 KB) or the CIPSEND in flight: those are not accepted by the module yet. The send
   * callback tells when they are.
   */
  get bufferedAmount(): number {
    const c = this.conn;
    if (!c) return 0;
    return c.sender.queuedBytes + (c.stream.writableLength ?? 0);
  }

  /** True when the current stream reports peer TCP acknowledgements (`delivery`). */
  get deliveryTracked(): boolean {
    return !!this.conn?.delivery;
  }

  /** Turns this client's trace on or off (credential headers and query values are redacted). */
  setTrace(on: boolean): void {
    this.log.enabled = on;
  }

  /** Replaces the handshake headers used from the next connection on. Throws WsHeaderError. */
  setHeaders(headers: HeaderInput): void {
    this.opening.headers = checkHeaders(headers);
  }

  /** Changes the reconnect policy (applies to the next close). */
  setReconnect(policy: boolean | ReconnectOptions): void {
    this.opts.reconnect = policy;
    if (!policy) this.reconnect.cancel();
  }

  /** Starts a connection attempt; false when one is already running or open. */
  connect(): boolean {
    if (this._state === 'connecting' || this._state === 'open' || this._state === 'closing') return false;
    this.reconnect.cancel();
    if (this.closedForGood) this.iterators.restart();
    this.stopped = false;
    this._state = 'connecting';
    void this.attempt();
    return true;
  }

  private async attempt(): Promise<void> {
    const abort = new AbortController();
    this.attemptAbort = abort;
    const timeoutMs = this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const timer = setTimeout(
      () =>
        abort.abort(
          new WsHandshakeError(
            `No websocket handshake with ${this.opening.url} within ${timeoutMs} ms: check the network, or raise handshakeTimeoutMs on slow links`,
            {
              code: 'ERR_WS_HANDSHAKE_TIMEOUT',
            },
          ),
        ),
      timeoutMs,
    );
    try {
      const r = await openConnection(this.opening, this.target, abort.signal);
      clearTimeout(timer);
      if (abort.signal.aborted) {
        r.stream.destroy();
        throw abort.signal.reason;
      }
      this.attemptAbort = null;
      this.onOpen(r.stream, r.head, r.key, r.rest);
    } catch (err) {
      clearTimeout(timer);
      this.attemptAbort = null;
      const e = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason : (err as Error);
      if (this.stopped && this._state === 'closed') return; // closed by the user while connecting
      this.log('connect failed: %s', e.message);
      this.emitError(e);
      this.finish(CloseCode.Abnormal, '', false);
    }
  }

  private onOpen(stream: Duplex, head: ResponseHead, key: string, rest: Buffer): void {
    let deflate: PerMessageDeflate | null = null;
    try {
      const result = validateUpgrade(head, key, this.opening.protocols);
      const negotiated = acceptDeflate(result.extensions, this.opening.deflateOptions);
      if (negotiated) deflate = new PerMessageDeflate(negotiated, this.opening.deflateOptions ?? {});
      this._protocol = result.protocol;
    } catch (err) {
      stream.destroy();
      this.emitError(err as Error);
      this.finish(CloseCode.Abnormal, '', false);
      return;
    }
    const delivery = deliveryOf(stream);
    const sender = new Sender(stream, deflate);
    // The handlers only run once bytes are pushed, after `c` exists.
    const receiver = new Receiver(
      { maxPayload: this.opts.maxPayload ?? DEFAULT_MAX_PAYLOAD, deflate, frames: !!this.opts.frames },
      {
        message: (data, isBinary) => this.onMessage(c, data, isBinary),
        // After our close frame the server may still be sending (RFC 6455 §5.5.1, §7.1.2): what
        // it sent before its own close frame is delivered; the receiver stops at that close frame.
        fragment: (data, fin, opcode) => this.emit('fragment', data, fin, opcode),
        ping: (data) => {
          if (!c.closeSent && canWrite(c)) answerPing(this.input, c, data);
          this.emit('ping', data);
        },
        pong: (data) => this.emit('pong', data),
        close: (code, reason) => onCloseFrame(this.closing, c, code, reason),
        error: (err) => failConnection(this.closing, c, err),
        drain: () => {
          if (c.streamClosed) settleClosed(this.closing, c);
          else if (!holdInput(this.input, c)) stream.resume();
        },
      },
    );
    const c: Connection = {
      stream,
      sender,
      receiver,
      deflate,
      delivery,
      order: delivery ? { accepted: new SendOrder(), acked: new SendOrder() } : null,
      closeSent: false,
      closeReceived: null,
      failure: null,
      closeTimer: null,
      keepTimer: null,
      pongTimer: null,
      lastRx: now(),
      coalescedPings: 0,
      transportHold: false,
      ended: false,
      streamClosed: false,
      done: false,
    };
    this.conn = c;
    this.reconnect.reset();
    this._state = 'open';
    if (this.inputPaused) receiver.hold();
    const receive = (chunk: Buffer): boolean => {
      c.lastRx = now();
      return c.receiver.push(chunk);
    };
    stream.on('data', (chunk: Buffer) => {
      if (!receive(chunk)) stream.pause();
    });
    stream.on('error', (err: Error) => {
      if (c.done) return;
      this.log('stream error: %s', err.message);
      if (!c.closeReceived || !c.closeSent)
        this.emitError(new WsClosedError(`The connection failed: ${err.message}`, { cause: err }));
    });
    stream.on('close', () => onStreamClosed(this.closing, c));
    stream.on('end', () => onPeerEnd(this.closing, c));
    (stream as Duplex & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    this.log(
      'open (protocol %s, deflate %s, delivery %s)',
      this._protocol || '-',
      deflate ? 'on' : 'off',
      delivery ? 'tracked' : 'write',
    );
    startKeepalive(c, this.opts, this.log, (err) => failConnection(this.closing, c, err));
    this.emit('open');
    if (c.done) return;
    if (rest.length > 0) {
      if (!receive(rest)) {
        stream.pause();
        return;
      }
    }
    if (!c.done && !holdInput(this.input, c) && !c.receiver.busy && !c.receiver.holding) stream.resume();
  }

  private onMessage(c: Connection, data: Buffer, isBinary: boolean): void {
    if (c.done || c.closeReceived) return;
    const value = isBinary ? data : data.toString('utf8');
    // A binary message may be a view of a larger input chunk: count what it keeps alive.
    this.iterators.push(
      { data: value, isBinary },
      isBinary ? Math.max(data.length, data.buffer.byteLength) : data.length,
    );
    this.emit('message', value, isBinary);
  }

  /** Ends the current connection (if any) and decides about reconnecting. */
  private finish(code: number, reason: string, wasClean: boolean): void {
    const c = this.conn;
    if (c) {
      c.done = true;
      for (const t of [c.closeTimer, c.keepTimer, c.pongTimer]) if (t) clearTimeout(t);
      c.receiver.stop();
      c.sender.abort(new WsClosedError());
      c.deflate?.cleanup();
      if (!c.stream.destroyed) c.stream.destroy();
      this.conn = null;
    }
    this._state = 'closed';
    this.log('closed %d %s (clean %s)', code, reason, wasClean);
    const delay = this.stopped ? null : this.reconnect.nextDelay(this.opts.reconnect);
    // Scheduled before 'close' is emitted so that a listener sees the reconnect coming (opened()
    // waits for it); a listener's close() or connect() cancels it.
    if (delay !== null) {
      this.reconnect.schedule(delay, () => {
        if (!this.stopped && this._state === 'closed') this.connect();
      });
    }
    this.emit('close', code, reason, wasClean);
    if (delay === null || this.stopped || this._state !== 'closed') {
      if (this.closedForGood) this.iterators.end();
      return;
    }
    const attempt = this.reconnect.attempt;
    this.log('reconnect %d in %d ms', attempt, delay);
    this.emit('reconnecting', { attempt, delayMs: delay });
  }

  private emitError(err: Error): void {
    // An 'error' event without a listener would throw: a misbehaving server must not crash the process.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else trace('unhandled websocket error (add an "error" listener): %s', err.message);
  }

  /**
   * Sends a message, or a fragment of one with `fin: false`. Over the module (a stream with a
   * `delivery` tracker) `cb` runs once the module accepted every byte of the frame (`DATA ACCEPT`),
   * not when the bytes are merely queued on the host; if they never reach the module it gets the
   * error (`ERR_LINK_CLOSED`; `ERR_MODEM_RESET` after a module reboot or port loss;
   * `ERR_DELIVERY_TIMEOUT` on a stalled link; `ERR_WS_CLOSED` for a frame the closing connection never
   * wrote), never success. On other streams `cb` runs when the frame was written into the stream.
   * `options.onAcked` runs once the peer's TCP acknowledged it. Callbacks run in send order, once.
   * Throws {@link WsNotOpenError} when not open and no callback is given.
   *
   * Text given as bytes (`binary: false` with a Buffer/typed array) must be UTF-8: otherwise this
   * throws {@link WsInvalidTextError} (`ERR_WS_INVALID_UTF8`) at once, callback or not, and nothing
   * is sent (the server would fail the connection). A fragment may end inside a character; the
   * message's last fragment may not. Strings are always valid.
   */
  send(
    data: string | Buffer | ArrayBuffer | ArrayBufferView,
    options: SendOptions = {},
    cb?: (err?: Error) => void,
  ): void {
    const c = this.conn;
    if (!c || this._state !== 'open' || c.closeSent || !canWrite(c)) {
      refuseSend(new WsNotOpenError(), cb, options.onAcked);
      return;
    }
    const buf = toBuffer(data);
    const binary = options.binary ?? typeof data !== 'string';
    const sendOpts = {
      binary,
      fin: options.fin ?? true,
      utf8: typeof data === 'string',
      ...(options.compress !== undefined ? { compress: options.compress } : {}),
    };
    if (!c.order) {
      c.sender.sendData(buf, sendOpts, afterWrite(c.delivery, cb, options.onAcked));
      return;
    }
    const accepted = cb ? c.order.accepted.reserve(cb) : undefined;
    const acked = options.onAcked ? c.order.acked.reserve(options.onAcked) : undefined;
    try {
      c.sender.sendData(buf, sendOpts, afterWrite(c.delivery, accepted?.settle, acked?.settle));
    } catch (err) {
      accepted?.cancel();
      acked?.cancel();
      throw err;
    }
  }

  /**
   * Promise form of {@link send}: resolves once the module accepted the bytes (`waitFor: 'accepted'`,
   * the default; on a stream without a delivery tracker, once written) or once the peer's TCP
   * acknowledged them (`'acked'`). `'written'` is a deprecated alias of `'accepted'`. Rejects with
   * the error the callback of {@link send} would get.
   */
  sendAsync(
    data: string | Buffer | ArrayBuffer | ArrayBufferView,
    options: Omit<SendOptions, 'onAcked'> & { waitFor?: SendWaitFor } = {},
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const { waitFor, ...rest } = options;
      if (waitFor === 'acked')
        this.send(data, { ...rest, onAcked: (e) => (e ? reject(e) : resolve()) }, (e) => e && reject(e));
      else this.send(data, rest, (e) => (e ? reject(e) : resolve()));
    });
  }

  /** Sends a ping (at most 125 bytes of payload). */
  ping(data: string | Buffer = Buffer.alloc(0), cb?: (err?: Error) => void): void {
    const buf = toBuffer(data);
    if (buf.length > MAX_CONTROL_PAYLOAD)
      throw new RangeError(`A ping payload is at most ${MAX_CONTROL_PAYLOAD} bytes`);
    const c = this.conn;
    if (!c || this._state !== 'open') {
      refuseSend(new WsNotOpenError(), cb, undefined);
      return;
    }
    c.sender.ping(buf, (e) => cb?.(e ?? undefined));
  }

  /**
   * Starts the closing handshake (code 1000 or 3000–4999, reason ≤ 123 bytes) and turns
   * reconnect off. While connecting, the attempt is abandoned.
   */
  close(code: number = CloseCode.Normal, reason = ''): void {
    if (code !== CloseCode.Normal && !(code >= 3000 && code <= 4999)) {
      throw new RangeError(`Close code ${code} cannot be sent by an application: use 1000 or 3000–4999`);
    }
    if (Buffer.byteLength(reason) > 123) throw new RangeError('A close reason is at most 123 bytes of UTF-8');
    this.stopped = true;
    this.reconnect.cancel();
    if (this._state === 'connecting') {
      this._state = 'closed';
      this.attemptAbort?.abort(new WsClosedError('The websocket was closed while connecting'));
      this.emit('close', CloseCode.Abnormal, '', false);
      this.iterators.end();
      return;
    }
    const c = this.conn;
    if (!c) {
      this._state = 'closed';
      this.iterators.end();
      return;
    }
    startClose(this.closing, c, code, reason);
  }

  /** Destroys the connection at once (close event 1006) and turns reconnect off. */
  terminate(): void {
    this.stopped = true;
    this.reconnect.cancel();
    if (this._state === 'connecting') {
      this.close();
      return;
    }
    const c = this.conn;
    if (c) {
      c.failure = { code: CloseCode.Abnormal, reason: '' };
      c.stream.destroy();
    } else {
      this._state = 'closed';
      this.iterators.end();
    }
  }

  /**
   * Resolves at the next 'open' (at once when open); rejects with the attempt's error if it ends
   * with 'close' first. Rejects at once with {@link WsClosedError} (`ERR_WS_CLOSED`) when the client
   * is closed for good: after `close()`/`terminate()`, or a close with no reconnect scheduled.
   * While idle (`autoConnect: false`) it waits for {@link connect}.
   */
  opened(): Promise<void> {
    if (this.stopped || this.closedForGood) {
      return Promise.reject(
        new WsClosedError(
          `The websocket to ${this.opening.url} is closed${this.stopped ? ' (close() or terminate() was called)' : ' and no reconnect is scheduled'}, so it will not open: call connect() to open it again`,
        ),
      );
    }
    if (this._state === 'open') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onOpen = () => {
        this.off('close', onClose);
        this.off('error', onError);
        resolve();
      };
      let lastError: Error | undefined;
      const onError = (e: Error): void => {
        lastError = e;
      };
      const onClose = (code: number) => {
        this.off('open', onOpen);
        this.off('error', onError);
        reject(lastError ?? new WsClosedError(`The connection closed (code ${code}) before it opened`));
      };
      this.once('open', onOpen);
      this.once('close', onClose);
      this.on('error', onError);
    });
  }

  /**
   * Resolves with the next 'close' event's arguments (code, reason, wasClean). With `reconnect`,
   * that is the close of the current connection, not the end of the client.
   */
  closed(): Promise<{ code: number; reason: string; wasClean: boolean }> {
    return new Promise((resolve) =>
      this.once('close', (code, reason, wasClean) => resolve({ code, reason, wasClean })),
    );
  }

  /**
   * Iterates over incoming messages until the client is closed for good. Messages wait in a queue
   * while the loop body runs; once it holds more than `maxQueuedBytes` (default 4 MiB; a message
   * counts its bytes, or for binary the memory its Buffer keeps alive, + 128) reading stops until it is half empty, so a slow loop pushes back on
   * the server instead of growing memory (at most the bound plus one message of up to maxPayload).
   * The first loop also gets the messages that arrived since 'open' (kept in the same bound; see
   * the README).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<WsMessage> {
    return this.iterators.open(this.closedForGood);
  }

  /** Closed, and no connection will follow without a call to {@link connect}. */
  private get closedForGood(): boolean {
    return this._state === 'closed' && (this.stopped || !this.reconnect.pending);
  }

  private setInputPaused(paused: boolean): void {
    this.inputPaused = paused;
    if (paused) {
      if (this.conn) updateInput(this.input, this.conn);
      return;
    }
    // Resuming runs the decoder, which delivers messages: not inside the loop's next() call.
    queueMicrotask(() => {
      if (this.conn && !this.inputPaused) updateInput(this.input, this.conn);
    });
  }
}
