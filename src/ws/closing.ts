import type createDebug from 'debug';
import type { WsState } from './types.js';
import { CloseCode } from './constants.js';
import { armCloseTimer, canWrite, type Connection } from './connection.js';
import { WsClosedError, WsPongTimeoutError, type WsProtocolError } from './errors.js';

/**
 * The closing handshake of one connection (RFC 6455 §7): answering the server's close frame, our
 * own close, failing on a protocol error or pong timeout, and the end of the stream, where what
 * the receiver still holds is decoded before the close is reported. The client owns the state and
 * the 'close' event; these functions reach it only through this interface.
 */
export interface ClosingHost {
  /** The client's state, read and written as the handshake moves on. */
  state: WsState;
  /** Read at each use: the client's closeTimeoutMs option or its default. */
  readonly closeTimeoutMs: number;
  readonly log: createDebug.Debugger;
  emitError(err: Error): void;
  /** Ends the connection and reports the close (and perhaps schedules a reconnect). */
  finish(code: number, reason: string, wasClean: boolean): void;
}

/** The server ended its side (FIN). */
export function onPeerEnd(h: ClosingHost, c: Connection): void {
  // Finish ours so the socket can close. Frames still held by the receiver are decoded before
  // the close is reported (onStreamClosed), but none can be answered.
  if (c.done) return;
  c.ended = true;
  if (h.state === 'open') h.state = 'closing';
  c.stream.end();
}

/** Our side of the closing handshake, as the application asked for it (close()). */
export function startClose(h: ClosingHost, c: Connection, code: number, reason: string): void {
  if (c.closeSent) return;
  if (!canWrite(c)) {
    // After the peer's FIN nothing can be sent: the close is reported once the stream has closed.
    armCloseTimer(c, h.closeTimeoutMs);
    return;
  }
  c.closeSent = true;
  h.state = 'closing';
  c.sender.close(code, reason);
  armCloseTimer(c, h.closeTimeoutMs);
}

/** The server's close frame: echo it (RFC 6455 §5.5.1) unless we already sent ours, then end our side. */
export function onCloseFrame(h: ClosingHost, c: Connection, code: number, reason: string): void {
  c.closeReceived = { code, reason };
  h.log('close frame received %d %s', code, reason);
  if (c.streamClosed) return settleClosed(h, c);
  if (!canWrite(c)) {
    // Decoded after the peer's FIN: the handshake cannot be answered, the stream closes on its own.
    if (h.state === 'open') h.state = 'closing';
    armCloseTimer(c, h.closeTimeoutMs);
    return;
  }
  if (!c.closeSent) {
    c.closeSent = true;
    h.state = 'closing';
    c.sender.close(code === CloseCode.NoStatus ? undefined : code, code === CloseCode.NoStatus ? '' : reason);
  }
  c.stream.end();
  armCloseTimer(c, h.closeTimeoutMs);
}

/** _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): close with the error's code, or drop the stream on a pong timeout. */
export function failConnection(h: ClosingHost, c: Connection, err: WsProtocolError | WsPongTimeoutError): void {
  if (c.done) return;
  h.log('failing the connection: %s', err.message);
  h.emitError(err);
  if (err instanceof WsPongTimeoutError) {
    c.failure = { code: CloseCode.Abnormal, reason: '' };
    c.stream.destroy();
    return;
  }
  c.failure = { code: err.closeCode, reason: '' };
  c.receiver.stop();
  if (c.streamClosed) return settleClosed(h, c);
  if (!canWrite(c)) c.stream.end();
  else if (!c.closeSent) {
    c.closeSent = true;
    h.state = 'closing';
    c.sender.close(err.closeCode, '', () => c.stream.end());
  } else c.stream.end();
  armCloseTimer(c, h.closeTimeoutMs);
}

/** The stream closed: report the close now, or once the receiver has decoded what it still holds. */
export function onStreamClosed(h: ClosingHost, c: Connection): void {
  if (c.done) return;
  c.streamClosed = true;
  // Input held back (a full `for await` queue, a backed-up transport) is finite now: decode it.
  if (!c.failure) c.receiver.release();
  if (c.done) return;
  if (!c.failure && c.receiver.busy) {
    // RFC 6455 §7.1.4/§7.1.5: what arrived before the FIN still counts. The receiver holds input
    // while it inflates, so the server's last messages and its close frame may be waiting there.
    // The inflate is bounded by maxPayload; this timer bounds the wait all the same.
    const ms = h.closeTimeoutMs;
    h.log(
      'stream closed during an inflate, %d bytes held: decoding them first (at most %d ms)',
      c.receiver.bufferedBytes,
      ms,
    );
    for (const t of [c.closeTimer, c.keepTimer, c.pongTimer]) if (t) clearTimeout(t);
    c.keepTimer = c.pongTimer = null;
    c.closeTimer = setTimeout(() => {
      h.emitError(
        new WsClosedError(
          `${c.receiver.bufferedBytes} bytes received before the connection closed were not decoded within ${ms} ms and were dropped; raise closeTimeoutMs on a slow machine`,
        ),
      );
      c.receiver.stop();
      settleClosed(h, c);
    }, ms);
    return;
  }
  settleClosed(h, c);
}

/** The stream is closed and the receiver has nothing more to decode: report the close. */
export function settleClosed(h: ClosingHost, c: Connection): void {
  if (c.done) return;
  let code: number;
  let reason = '';
  let wasClean = false;
  if (c.failure) code = c.failure.code;
  else if (c.closeReceived) {
    // The server's close frame arrived: clean even if the FIN came before we could answer it.
    code = c.closeReceived.code;
    reason = c.closeReceived.reason;
    wasClean = true;
  } else code = CloseCode.Abnormal;
  h.finish(code, reason, wasClean);
}
