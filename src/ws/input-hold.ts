/**
 * When a connection stops reading: a `for await` queue is full (the client's pause), or the server
 * keeps pinging while the stream is backed up. Reading stops at the stream and the decoder stops at
 * the next frame boundary; both start again once the cause is gone.
 */
import type createDebug from 'debug';
import type { Connection } from './connection.js';

// Pings folded into one waiting pong while the stream is backed up, before reading stops until it
// drains. A server pings every few seconds at most; this many within one backlog is a flood.
const PING_FLOOD = 16;

/** What the input rules read of the client. */
export interface InputHost {
  /** A `for await` queue is full: reading stops (on this and any next connection) until it drains. */
  readonly paused: boolean;
  readonly log: createDebug.Debugger;
}

/**
 * Pongs wait (one, with the latest payload) while the stream is backed up; if pings keep coming
 * meanwhile, reading stops until the stream drains, so a server that floods pings without
 * reading its socket meets backpressure instead of growing our memory.
 */
export function answerPing(host: InputHost, c: Connection, data: Buffer): void {
  if (!c.sender.pong(data)) {
    c.coalescedPings = 0;
    return;
  }
  if (++c.coalescedPings < PING_FLOOD || c.transportHold || !c.stream.writableNeedDrain) return;
  host.log('%d pings while the stream is backed up: reading stops until it drains', c.coalescedPings);
  c.transportHold = true;
  updateInput(host, c);
  c.stream.once('drain', () => {
    c.transportHold = false;
    c.coalescedPings = 0;
    updateInput(host, c);
  });
}

/** True while reading should stop: a `for await` queue is full, or the transport is backed up. */
export function holdInput(host: InputHost, c: Connection): boolean {
  return host.paused || c.transportHold;
}

/**
 * Applies {@link holdInput} to a connection: pause the stream and stop decoding at the next frame,
 * or decode what was held back and read again. Once the stream has closed nothing is held: what
 * it delivered is decoded (closing.ts).
 */
export function updateInput(host: InputHost, c: Connection): void {
  if (c.done) return;
  if (holdInput(host, c) && !c.streamClosed) {
    c.stream.pause();
    c.receiver.hold();
    return;
  }
  c.receiver.release();
  if (!c.done && !c.streamClosed && !holdInput(host, c) && !c.receiver.busy && !c.receiver.holding) c.stream.resume();
}
