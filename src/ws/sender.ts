import type { Writable } from 'node:stream';
import { Opcode } from './constants.js';
import type { PerMessageDeflate } from './deflate.js';
import { encodeFrame } from './frame.js';
import { WsClosedError, WsInvalidTextError } from './errors.js';
import { Utf8Validator } from './utf8.js';

/** Called when the frame's bytes were handed to the stream (its write callback), or failed. */
export type WriteCallback = (err?: Error | null) => void;

export interface DataSendOptions {
  binary: boolean;
  /** False leaves the message open: the next `sendData` continues it. */
  fin: boolean;
  /** Compress when permessage-deflate was negotiated (default true; decided on a message's first fragment). */
  compress?: boolean;
  /** The bytes are known to be whole UTF-8 (they came from a string): no need to validate them. */
  utf8?: boolean;
}

/**
 * Frame encoder and write queue. Compression is asynchronous, so frames go out through a FIFO
 * that keeps them in call order; without compression a frame is written at once.
 */
export class Sender {
  private readonly out: Writable;
  private readonly deflate: PerMessageDeflate | null;
  private readonly queue: Array<{ run: () => void; cb: WriteCallback | undefined }> = [];
  private queued = 0;
  private busy = false;
  /** Opcode of the message being sent in fragments (0 = none). */
  private openMessage = 0;
  private openCompressed = false;
  private closed = false;
  /** UTF-8 state of the text message being sent: a fragment may end inside a character. */
  private text = new Utf8Validator();
  /** Payload of the pong not yet handed to the stream; a later ping replaces it. */
  private pendingPong: Buffer | null = null;

  constructor(out: Writable, deflate: PerMessageDeflate | null) {
    this.out = out;
    this.deflate = deflate;
  }

  /** Bytes accepted by `send*` but not yet handed to the stream. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True while a fragmented message is open (continuation frames expected). */
  get inMessage(): boolean {
    return this.openMessage !== 0;
  }

  /**
   * Frames and queues a data frame. Throws {@link WsInvalidTextError} (nothing queued, no state
   * changed) when a text message's bytes are not UTF-8, or a text message ends inside a character.
   */
  sendData(data: Buffer, options: DataSendOptions, cb?: WriteCallback): void {
    const first = this.openMessage === 0;
    const opcode = first ? (options.binary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
    if ((first ? opcode : this.openMessage) === Opcode.Text) this.checkText(data, options, first);
    if (first) {
      this.openCompressed =
        !!this.deflate && options.compress !== false && (data.length >= this.deflate.threshold || !options.fin);
    }
    const compressed = this.openCompressed;
    this.openMessage = options.fin ? 0 : first ? opcode : this.openMessage;
    if (!compressed) {
      this.enqueue(data.length, () => this.write(encodeFrame({ fin: options.fin, opcode, payload: data }), cb), cb);
      return;
    }
    this.enqueue(
      data.length,
      () => {
        this.busy = true;
        this.deflate!.compress(data, options.fin, (err, out) => {
          this.busy = false;
          if (this.closed) {
            cb?.(err ?? new WsClosedError('The connection closed before this message was written; it was not sent.'));
            return;
          }
          if (err) cb?.(err);
          else
            this.write(
              encodeFrame({ fin: options.fin, rsv1: opcode !== Opcode.Continuation, opcode, payload: out }),
              cb,
            );
          this.drainQueue();
        });
      },
      cb,
    );
  }

  private checkText(data: Buffer, options: DataSendOptions, first: boolean): void {
    const state = first ? new Utf8Validator() : this.text;
    // Bytes of a string are whole characters: only a partial character left by an earlier fragment matters.
    if (options.utf8 && state.complete) {
      this.text = state;
      return;
    }
    const next = state.clone();
    if (!next.write(data)) {
      throw new WsInvalidTextError(
        `This text ${first && options.fin ? 'message' : 'fragment'} is not valid UTF-8 (bad byte at offset ${badOffset(state, data)}): nothing was sent. ` +
          'Send bytes that are not text as binary ({ binary: true }; LuatOS: send(data, 1, 1)), or decode them to a string first.',
      );
    }
    if (options.fin && !next.complete) {
      throw new WsInvalidTextError(
        'This text message ends in the middle of a UTF-8 character: nothing was sent. Send the rest of the character in this frame, or send the bytes as binary.',
      );
    }
    this.text = next;
  }

  ping(data: Buffer, cb?: WriteCallback): void {
    this.enqueue(data.length, () => this.write(encodeFrame({ fin: true, opcode: Opcode.Ping, payload: data }), cb), cb);
  }

  /**
   * Answers a ping. Only the latest ping needs an answer (RFC 6455 §5.5.3), so while a pong waits
   * (behind a compression, or for 'drain' when the stream is backed up) a new one replaces its
   * payload: a server flooding pings without reading gets one pong, not a heap of them.
   * Returns true when this pong was folded into one already waiting.
   */
  pong(data: Buffer): boolean {
    if (this.pendingPong) {
      this.pendingPong = data;
      return true;
    }
    this.pendingPong = data;
    const send = (): void =>
      this.enqueue(
        data.length,
        () => {
          const payload = this.pendingPong;
          this.pendingPong = null;
          if (payload) this.write(encodeFrame({ fin: true, opcode: Opcode.Pong, payload }));
        },
        undefined,
      );
    if (this.out.writableNeedDrain) this.out.once('drain', send);
    else send();
    return false;
  }

  /** Sends a close frame; `code` undefined sends an empty body. */
  close(code: number | undefined, reason: string, cb?: WriteCallback): void {
    // Nothing may follow a close frame; a pong still waiting is not owed any more.
    this.pendingPong = null;
    let body: Buffer;
    if (code === undefined) body = Buffer.alloc(0);
    else {
      const r = Buffer.from(reason, 'utf8');
      body = Buffer.allocUnsafe(2 + r.length);
      body.writeUInt16BE(code, 0);
      r.copy(body, 2);
    }
    this.enqueue(
      body.length,
      () => this.write(encodeFrame({ fin: true, opcode: Opcode.Close, payload: body }), cb),
      cb,
    );
  }

  /** Drops everything queued (the connection is gone); their callbacks get `err`. */
  abort(err: Error): void {
    this.closed = true;
    this.pendingPong = null;
    const pending = this.queue.splice(0);
    this.queued = 0;
    for (const item of pending) item.cb?.(err);
  }

  private enqueue(size: number, op: () => void, cb: WriteCallback | undefined): void {
    if (this.closed) {
      cb?.(new WsClosedError('The connection is closed; the message was not sent.'));
      return;
    }
    if (!this.busy && this.queue.length === 0) {
      op();
      return;
    }
    this.queued += size;
    this.queue.push({
      run: () => {
        this.queued -= size;
        op();
      },
      cb,
    });
  }

  private drainQueue(): void {
    while (!this.busy && this.queue.length > 0 && !this.closed) this.queue.shift()!.run();
  }

  private write(frame: Buffer, cb?: WriteCallback): void {
    // A write after end() would error and destroy the stream, dropping bytes it still has to read
    // (a modem link ends its writable side as soon as the peer closes).
    if (this.closed || this.out.destroyed || this.out.writableEnded) {
      cb?.(new WsClosedError('The connection is closed; the message was not sent.'));
      return;
    }
    this.out.write(frame, cb);
  }
}

/** Offset in `data` of the byte that made the text invalid (failure path only: byte by byte). */
function badOffset(state: Utf8Validator, data: Buffer): number {
  const v = state.clone();
  for (let i = 0; i < data.length; i++) if (!v.write(data.subarray(i, i + 1))) return i;
  return data.length;
}
