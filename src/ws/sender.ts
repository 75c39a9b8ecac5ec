import type { Writable } from 'node:stream';
import { Opcode } from './constants.js';
import type { PerMessageDeflate } from './deflate.js';
import { encodeFrame } from './frame.js';
import { WsClosedError } from './errors.js';

/** Called when the frame's bytes were handed to the stream (its write callback), or failed. */
export type WriteCallback = (err?: Error | null) => void;

export interface DataSendOptions {
  binary: boolean;
  /** False leaves the message open: the next `sendData` continues it. */
  fin: boolean;
  /** Compress when permessage-deflate was negotiated (default true; decided on a message's first fragment). */
  compress?: boolean;
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

  sendData(data: Buffer, options: DataSendOptions, cb?: WriteCallback): void {
    const first = this.openMessage === 0;
    const opcode = first ? (options.binary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
    if (first) {
      this.openCompressed = !!this.deflate && options.compress !== false && (data.length >= this.deflate.threshold || !options.fin);
    }
    const compressed = this.openCompressed;
    this.openMessage = options.fin ? 0 : first ? opcode : this.openMessage;
    if (!compressed) {
      this.enqueue(data.length, () => this.write(encodeFrame({ fin: options.fin, opcode, payload: data }), cb), cb);
      return;
    }
    this.enqueue(data.length, () => {
      this.busy = true;
      this.deflate!.compress(data, options.fin, (err, out) => {
        this.busy = false;
        if (this.closed) {
          cb?.(err ?? new WsClosedError('The connection closed before this message was written; it was not sent.'));
          return;
        }
        if (err) cb?.(err);
        else this.write(encodeFrame({ fin: options.fin, rsv1: opcode !== Opcode.Continuation, opcode, payload: out }), cb);
        this.drainQueue();
      });
    }, cb);
  }

  ping(data: Buffer, cb?: WriteCallback): void {
    this.enqueue(data.length, () => this.write(encodeFrame({ fin: true, opcode: Opcode.Ping, payload: data }), cb), cb);
  }

  pong(data: Buffer, cb?: WriteCallback): void {
    this.enqueue(data.length, () => this.write(encodeFrame({ fin: true, opcode: Opcode.Pong, payload: data }), cb), cb);
  }

  /** Sends a close frame; `code` undefined sends an empty body. */
  close(code: number | undefined, reason: string, cb?: WriteCallback): void {
    let body: Buffer;
    if (code === undefined) body = Buffer.alloc(0);
    else {
      const r = Buffer.from(reason, 'utf8');
      body = Buffer.allocUnsafe(2 + r.length);
      body.writeUInt16BE(code, 0);
      r.copy(body, 2);
    }
    this.enqueue(body.length, () => this.write(encodeFrame({ fin: true, opcode: Opcode.Close, payload: body }), cb), cb);
  }

  /** Drops everything queued (the connection is gone); their callbacks get `err`. */
  abort(err: Error): void {
    this.closed = true;
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
