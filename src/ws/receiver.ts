import { CloseCode, isControlOpcode, isValidCloseCode, MAX_CONTROL_PAYLOAD, Opcode } from './constants.js';
import type { PerMessageDeflate } from './deflate.js';
import { WsProtocolError, type WsProtocolErrorCode } from './errors.js';
import { PayloadBuffer } from './payload-buffer.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

/** What the decoder reports. All callbacks run synchronously from `push` (or an inflate callback). */
export interface ReceiverHandlers {
  /** A whole message (`frames: false`). */
  message?(data: Buffer, isBinary: boolean): void;
  /** One data frame, as it completes (`frames: true`); `opcode` 0 for continuations. */
  fragment?(data: Buffer, fin: boolean, opcode: number): void;
  ping(data: Buffer): void;
  pong(data: Buffer): void;
  /** A close frame: `code` 1005 when the frame had no body. */
  close(code: number, reason: string): void;
  /** The server broke the protocol; nothing more is decoded after this. */
  error(err: WsProtocolError): void;
  /** The decoder finished an asynchronous inflate and accepts input again. */
  drain?(): void;
}

export interface ReceiverOptions {
  /**
   * Largest message (after inflation) in bytes. Each frame of a message also counts as 64 bytes of
   * bookkeeping: a message may span at most `max(1024, maxPayload / 64)` frames.
   */
  maxPayload: number;
  /** Negotiated permessage-deflate, or null. */
  deflate?: PerMessageDeflate | null;
  /** Report data frames one by one instead of reassembled messages. */
  frames?: boolean;
}

/** What one frame of a held message is counted as (see {@link maxFramesPerMessage}). */
export const FRAME_COST = 64;

/**
 * How many frames one message may span. Without a bound, a message sent as millions of 1-byte
 * frames costs far more to process and track than maxPayload suggests; 64 bytes per frame keeps
 * Autobahn's smallest fragments (64 bytes, 9.3.1) within any maxPayload that fits the message.
 */
export function maxFramesPerMessage(maxPayload: number): number {
  return Math.max(1024, Math.floor(maxPayload / FRAME_COST));
}

enum State {
  Info,
  Len16,
  Len64,
  Mask,
  Data,
  Inflating,
  Done,
}

/**
 * Incremental RFC 6455 frame decoder for the client side (server frames are never masked).
 * Input may be split anywhere; payload bytes are validated as they arrive, so invalid UTF-8 or an
 * oversized message fails the connection at the first offending byte.
 */
export class Receiver {
  private readonly h: ReceiverHandlers;
  private readonly maxPayload: number;
  private readonly deflate: PerMessageDeflate | null;
  private readonly frames: boolean;
  private readonly maxFrames: number;

  private buffers: Buffer[] = [];
  private buffered = 0;
  private state = State.Info;
  /** Decoding stops at the next frame boundary: the consumer cannot take more yet. */
  private held = false;

  // Current frame.
  private fin = false;
  private opcode = 0;
  private compressedFrame = false;
  private payloadLength = 0;
  private remaining = 0;
  /** A control frame's payload (at most 125 bytes). */
  private framePieces: Buffer[] = [];
  /** The compressed payload of the current data frame. */
  private readonly compressed: PayloadBuffer;

  // Current message.
  private messageOpcode = 0; // 0 = no message in progress
  private messageCompressed = false;
  private messageLength = 0;
  private messageFrames = 0;
  /** The message's payload (inflated if compressed); with `frames`, the current frame's. */
  private readonly data: PayloadBuffer;
  private readonly utf8 = new Utf8Validator();

  constructor(options: ReceiverOptions, handlers: ReceiverHandlers) {
    this.h = handlers;
    this.maxPayload = options.maxPayload;
    this.deflate = options.deflate ?? null;
    this.frames = !!options.frames;
    this.maxFrames = maxFramesPerMessage(options.maxPayload);
    this.compressed = new PayloadBuffer(options.maxPayload);
    this.data = new PayloadBuffer(options.maxPayload);
  }

  /** Bytes received but not decoded yet (held while an inflate runs). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while an inflate is running: further input is only buffered. */
  get busy(): boolean {
    return this.state === State.Inflating;
  }

  /** True while {@link hold} is in force. */
  get holding(): boolean {
    return this.held;
  }

  /** Feeds bytes; returns false if the decoder is busy or held and the caller should pause its source. */
  push(chunk: Buffer): boolean {
    if (this.state === State.Done || chunk.length === 0) return this.state !== State.Inflating && !this.held;
    this.buffers.push(chunk);
    this.buffered += chunk.length;
    this.loop();
    return this.state !== State.Inflating && !this.held;
  }

  /**
   * Stops decoding at the next frame boundary; later input is only buffered (the caller pauses
   * its source when `push` returns false, so that is at most what was already read).
   */
  hold(): void {
    this.held = true;
  }

  /** Decodes what was held back; `drain` fires once the decoder accepts input again. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.state === State.Inflating || this.state === State.Done) return;
    this.loop();
    if (!this.held && this.accepting()) this.h.drain?.();
  }

  /** Stops decoding for good (the connection is closing). */
  stop(): void {
    this.state = State.Done;
    this.buffers = [];
    this.buffered = 0;
    this.framePieces = [];
    this.compressed.clear();
    this.data.clear();
  }

  private accepting(): boolean {
    return (
      this.state === State.Info || this.state === State.Data || this.state === State.Len16 || this.state === State.Len64
    );
  }

  private consume(n: number): Buffer {
    this.buffered -= n;
    const first = this.buffers[0]!;
    if (n === first.length) return this.buffers.shift()!;
    if (n < first.length) {
      this.buffers[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const b = this.buffers[0]!;
      const take = Math.min(b.length, n - off);
      b.copy(out, off, 0, take);
      off += take;
      if (take === b.length) this.buffers.shift();
      else this.buffers[0] = b.subarray(take);
    }
    return out;
  }

  private fail(code: WsProtocolErrorCode, closeCode: number, message: string): void {
    this.stop();
    this.h.error(new WsProtocolError(code, closeCode, message));
  }

  private protocol(message: string): void {
    this.fail(
      'ERR_WS_PROTOCOL',
      CloseCode.ProtocolError,
      `${message} (RFC 6455 violation by the server; connection failed with 1002)`,
    );
  }

  private loop(): void {
    for (;;) {
      switch (this.state) {
        case State.Info:
          if (this.held || this.buffered < 2) return;
          this.readInfo();
          break;
        case State.Len16:
          if (this.buffered < 2) return;
          this.payloadLength = this.consume(2).readUInt16BE(0);
          this.afterLength();
          break;
        case State.Len64: {
          if (this.buffered < 8) return;
          const b = this.consume(8);
          const hi = b.readUInt32BE(0);
          if (hi & 0x80000000) return this.protocol('64-bit payload length with the most significant bit set');
          if (hi > 0x1fffff)
            return this.fail('ERR_WS_MESSAGE_TOO_BIG', CloseCode.MessageTooBig, 'Frame length beyond 2^53 bytes');
          this.payloadLength = hi * 0x100000000 + b.readUInt32BE(4);
          this.afterLength();
          break;
        }
        case State.Data:
          if (!this.readData()) return;
          break;
        default:
          return;
      }
    }
  }

  private readInfo(): void {
    const b = this.consume(2);
    const b0 = b[0]!;
    const b1 = b[1]!;
    this.fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    const op = this.opcode;
    if (b0 & 0x30) return this.protocol('RSV2/RSV3 set without a negotiated extension');
    if (isControlOpcode(op)) {
      if (op !== Opcode.Close && op !== Opcode.Ping && op !== Opcode.Pong)
        return this.protocol(`Reserved control opcode 0x${op.toString(16)}`);
      if (rsv1) return this.protocol('RSV1 set on a control frame');
      if (!this.fin) return this.protocol('Fragmented control frame');
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) return this.protocol('Control frame payload over 125 bytes');
    } else if (op === Opcode.Continuation) {
      if (this.messageOpcode === 0) return this.protocol('Continuation frame with no message to continue');
      if (rsv1) return this.protocol('RSV1 set on a continuation frame');
    } else if (op === Opcode.Text || op === Opcode.Binary) {
      if (this.messageOpcode !== 0) return this.protocol('New data frame while a fragmented message is unfinished');
      if (rsv1 && !this.deflate) return this.protocol('RSV1 set without permessage-deflate');
      this.messageOpcode = op;
      this.messageCompressed = rsv1;
      this.messageLength = 0;
      this.messageFrames = 0;
      this.utf8.reset();
    } else {
      return this.protocol(`Reserved data opcode 0x${op.toString(16)}`);
    }
    if (b1 & 0x80) return this.protocol('Masked frame from the server');
    if (!isControlOpcode(op) && !this.frames && ++this.messageFrames > this.maxFrames) {
      return this.fail(
        'ERR_WS_MESSAGE_TOO_BIG',
        CloseCode.MessageTooBig,
        `Message in more than ${this.maxFrames} frames (each frame counts ${FRAME_COST} bytes against maxPayload ${this.maxPayload}); raise maxPayload if such messages are expected`,
      );
    }
    this.compressedFrame = !isControlOpcode(op) && this.messageCompressed;
    const len7 = b1 & 0x7f;
    if (len7 === 126) this.state = State.Len16;
    else if (len7 === 127) this.state = State.Len64;
    else {
      this.payloadLength = len7;
      this.afterLength();
    }
  }

  private afterLength(): void {
    if (this.state === State.Done) return;
    if (
      !isControlOpcode(this.opcode) &&
      !this.compressedFrame &&
      this.messageLength + this.payloadLength > this.maxPayload
    ) {
      return this.fail(
        'ERR_WS_MESSAGE_TOO_BIG',
        CloseCode.MessageTooBig,
        `Message larger than maxPayload (${this.maxPayload} bytes); raise maxPayload if such messages are expected`,
      );
    }
    // Compressed input is bounded too; inflation is checked again against maxPayload.
    if (this.compressedFrame && this.payloadLength > this.maxPayload) {
      return this.fail(
        'ERR_WS_MESSAGE_TOO_BIG',
        CloseCode.MessageTooBig,
        `Compressed frame larger than maxPayload (${this.maxPayload} bytes)`,
      );
    }
    this.remaining = this.payloadLength;
    this.state = State.Data;
  }

  /** Returns false when more input is needed or processing must stop. */
  private readData(): boolean {
    const control = isControlOpcode(this.opcode);
    if (this.remaining > 0) {
      if (control) {
        if (this.buffered < this.remaining) return false;
        this.framePieces.push(this.consume(this.remaining));
        this.remaining = 0;
      } else {
        if (this.buffered === 0) return false;
        const piece = this.consume(Math.min(this.remaining, this.buffered, this.buffers[0]!.length));
        this.remaining -= piece.length;
        if (!this.compressedFrame) {
          if (this.messageOpcode === Opcode.Text && !this.utf8.write(piece)) {
            this.fail(
              'ERR_WS_INVALID_UTF8',
              CloseCode.InvalidPayload,
              'Invalid UTF-8 in a text message (connection failed with 1007)',
            );
            return false;
          }
          this.messageLength += piece.length;
          this.data.append(piece);
        } else this.compressed.append(piece);
        if (this.remaining > 0) return true;
      }
    }
    // The frame is complete.
    this.state = State.Info;
    if (control) {
      const payload = this.framePieces.length === 1 ? this.framePieces[0]! : Buffer.concat(this.framePieces);
      this.framePieces = [];
      return this.controlFrame(payload);
    }
    if (this.compressedFrame) return this.inflateFrame(this.compressed.take());
    this.dataFrameDone();
    return (this.state as State) !== State.Done;
  }

  private controlFrame(payload: Buffer): boolean {
    if (this.opcode === Opcode.Ping) this.h.ping(payload);
    else if (this.opcode === Opcode.Pong) this.h.pong(payload);
    else {
      if (payload.length === 1) {
        this.protocol('Close frame with a 1-byte body');
        return false;
      }
      let code: number = CloseCode.NoStatus;
      let reason = '';
      if (payload.length >= 2) {
        code = payload.readUInt16BE(0);
        if (!isValidCloseCode(code)) {
          this.protocol(`Invalid close code ${code}`);
          return false;
        }
        const r = payload.subarray(2);
        if (!isValidUtf8(r)) {
          this.fail(
            'ERR_WS_INVALID_UTF8',
            CloseCode.InvalidPayload,
            'Close reason is not valid UTF-8 (connection failed with 1007)',
          );
          return false;
        }
        reason = r.toString('utf8');
      }
      this.stop();
      this.h.close(code, reason);
      return false;
    }
    return this.state !== State.Done;
  }

  private inflateFrame(payload: Buffer): boolean {
    this.state = State.Inflating;
    const fin = this.fin;
    const opcode = this.opcode;
    this.deflate!.decompress(
      payload,
      fin,
      (chunk) => {
        this.messageLength += chunk.length;
        if (this.messageLength > this.maxPayload) {
          return new WsProtocolError(
            'ERR_WS_MESSAGE_TOO_BIG',
            CloseCode.MessageTooBig,
            `Inflated message larger than maxPayload (${this.maxPayload} bytes)`,
          );
        }
        if (this.messageOpcode === Opcode.Text && !this.utf8.write(chunk)) {
          return new WsProtocolError(
            'ERR_WS_INVALID_UTF8',
            CloseCode.InvalidPayload,
            'Invalid UTF-8 in a compressed text message (connection failed with 1007)',
          );
        }
        this.data.append(chunk);
        return null;
      },
      (err) => {
        if (this.state === State.Done) return;
        if (err) {
          this.stop();
          this.h.error(
            err instanceof WsProtocolError
              ? err
              : new WsProtocolError(
                  'ERR_WS_INFLATE',
                  CloseCode.InvalidPayload,
                  `Cannot inflate a compressed message: ${err.message}`,
                  { cause: err },
                ),
          );
          return;
        }
        this.state = State.Info;
        this.fin = fin;
        this.opcode = opcode;
        this.dataFrameDone();
        if (this.state !== State.Info) return;
        this.loop();
        if (!this.held && this.accepting()) this.h.drain?.();
      },
    );
    return false;
  }

  private dataFrameDone(): void {
    const isText = this.messageOpcode === Opcode.Text;
    if (this.fin && isText && !this.utf8.complete) {
      this.fail(
        'ERR_WS_INVALID_UTF8',
        CloseCode.InvalidPayload,
        'Text message ends inside a UTF-8 sequence (connection failed with 1007)',
      );
      return;
    }
    if (this.frames) {
      const op = this.opcode;
      if (this.fin) this.messageOpcode = 0;
      this.h.fragment?.(this.data.take(), this.fin, op);
      return;
    }
    if (!this.fin) return;
    this.messageOpcode = 0;
    this.h.message?.(this.data.take(), !isText);
  }
}
