/**
 * Incremental tokenizer for the module's output: lines, the `> ` prompt and length-announced
 * binary blocks. It is byte-driven and keeps no per-byte state outside the current token, so any
 * chunking of the same input yields the same tokens.
 *
 * A block is only trusted while its bytes keep coming and, where the module frames it, while it
 * ends where its announcement says: a block that goes silent part-way (the module lost power) or
 * is not followed by its `\r\n` (bytes dropped or added on the line) is reported as a `cut`
 * token with none of its data, and scanning resumes as lines. See docs/layers.md.
 *
 * Which headers announce blocks, and how, is the dialect table's ({@link BLOCK_SHAPES}).
 */
import { BLOCK_SHAPES, parseShape, type BlockShape } from './dialect.js';
import { SilenceWatch } from './silence-watch.js';

/** Which announcement a binary block came with. */
export type AtBlockKind = 'receive' | 'ciprxget' | 'ipd';

/** One unit of module output. */
export type AtToken =
  /** A line of text (CR, LF or CRLF framed; blank lines are never produced). */
  | { type: 'line'; line: string }
  /** A line that echoes a command (starts with `AT`, echo on). */
  | { type: 'echo'; line: string }
  /** The `> ` prompt of CIPSEND / FSWRITE (no line end follows it). */
  | { type: 'prompt' }
  /**
   * A binary block: `line` is its announcement (`+RECEIVE,0,7:`, `+CIPRXGET: 2,0,5,0`,
   * `+IPD,4:`), `data` exactly the announced bytes.
   */
  | { type: 'block'; kind: AtBlockKind; line: string; link?: number; data: Buffer }
  /**
   * Input that was dropped: a line over the length bound, a block announcing too many bytes, or
   * the start of a block header that went silent part-way (`header-cut`).
   */
  | { type: 'garbage'; reason: 'line-too-long' | 'block-too-large' | 'header-cut'; preview: string }
  /**
   * A block that could not be trusted, delivered as nothing: `silence` (its bytes stopped arriving
   * part-way: the module reset or the line died) or `misaligned` (it was not followed by the
   * `\r\n` the module writes after it: bytes were dropped or inserted on the line). `received`
   * counts the bytes taken for it before the cut (they are not delivered).
   */
  | { type: 'cut'; kind: AtBlockKind; line: string; link?: number; reason: AtCutReason; received: number };

/** Why a block was cut (see the `cut` token). */
export type AtCutReason = 'silence' | 'misaligned';

/** Bounds of an {@link AtScanner}: what it holds before calling input garbage. */
export interface AtScannerOptions {
  /** Longest line kept; longer ones are reported as garbage and skipped. Default 4096. */
  maxLineLength?: number;
  /** Largest block accepted; a larger announcement is garbage. Default 1460 (the module's chunk limit). */
  maxBlockLength?: number;
  /** Line rate, used for the default {@link blockSilenceMs}. Default 115200. */
  baudRate?: number;
  /**
   * Silence mid-block after which the block counts as cut. Default {@link blockSilenceBound} of
   * `baudRate` (400 byte-times, at least 300 ms). 0 turns the rule off.
   */
  blockSilenceMs?: number;
  /**
   * Whether `+RECEIVE` / `+IPD` data is followed by `\r\n` (`AT+CIPRXF=0`); then a block not
   * followed by it is cut as misaligned. Default false (unknown: not checked). `+CIPRXGET: 2` data
   * is always checked: the module follows it with `\r\n` and its `OK`.
   */
  receiveTrailer?: boolean;
}

/**
 * The default mid-block silence bound for a line rate: 400 byte-times (8N1), never below 300 ms.
 * A module writes a block back to back, so a healthy line never pauses that long inside one; the
 * floor keeps USB and host scheduling hiccups (tens of ms) far below it.
 */
export function blockSilenceBound(baudRate: number): number {
  return Math.max(300, Math.ceil((400 * 10 * 1000) / baudRate));
}

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const GT = 0x3e;
const SP = 0x20;
const PLUS = 0x2b;
const COLON = 0x3a;

/** Headers whose data follows the colon (possibly after CRLF): matched before a line end is seen. */
const COLON_SHAPES = BLOCK_SHAPES.filter((b) => b.start !== 'line');
/** Headers that end with a line end (pull reads): watched for silence like the others. */
const LINE_SHAPES = BLOCK_SHAPES.filter((b) => b.start === 'line');
const ALL_MARKS = BLOCK_SHAPES.flatMap((b) => b.marks);
/** Longest header of the colon kind we look for before giving up and treating it as a line. */
const HEADER_WINDOW = 40;

const RE_ECHO = /^AT/i;

enum Mode {
  Line,
  /** After a block header: an optional CRLF / LF / CR before the data. */
  Sep,
  /** After a CR that may be followed by LF. */
  SepLf,
  Block,
  /** After a block's data: expecting its trailing CR, then its LF. */
  TrailCr,
  TrailLf,
  /** Skipping the rest of an over-long line. */
  Discard,
}

const PREVIEW = 48;

/**
 * The tokenizer. Feed it with {@link push}; it calls `onToken` synchronously for each complete
 * token. Memory is bounded by `maxLineLength` (pending text) and `maxBlockLength` (pending block).
 */
export class AtScanner {
  private readonly onToken: (token: AtToken) => void;
  private readonly maxLine: number;
  private readonly maxBlock: number;
  private mode: Mode = Mode.Line;
  private rest: Buffer | undefined;
  private block: { shape: BlockShape; line: string; link?: number; data: Buffer; filled: number } | undefined;
  private readonly silenceMs: number;
  private receiveTrailer: boolean;
  /** Counts silence while a block (or its header) is pending; undefined when the bound is off. */
  private readonly watch: SilenceWatch | undefined;

  constructor(onToken: (token: AtToken) => void, options: AtScannerOptions = {}) {
    this.onToken = onToken;
    this.maxLine = options.maxLineLength ?? 4096;
    this.maxBlock = options.maxBlockLength ?? 1460;
    this.silenceMs = options.blockSilenceMs ?? blockSilenceBound(options.baudRate ?? 115200);
    this.receiveTrailer = options.receiveTrailer ?? false;
    this.watch = this.silenceMs > 0 ? new SilenceWatch(this.silenceMs, () => this.onSilence()) : undefined;
  }

  /** The module now follows (`true`, `AT+CIPRXF=0`) or no longer follows `+RECEIVE` / `+IPD` data with `\r\n`. */
  setReceiveTrailer(on: boolean): void {
    this.receiveTrailer = on;
  }

  /** Bytes held while waiting for the rest of a token (excludes a block's preallocated data). */
  get pendingBytes(): number {
    return this.rest?.length ?? 0;
  }

  /** True while a block's data is being collected. */
  get inBlock(): boolean {
    return this.block !== undefined;
  }

  /** Forget any partial token (e.g. after the port was reopened) and stop the silence watch. */
  reset(): void {
    this.mode = Mode.Line;
    this.rest = undefined;
    this.block = undefined;
    this.stopWatch();
  }

  /** Feed received bytes. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.watch?.heard();
    this.scan(chunk);
    if (this.block || this.headerPending()) this.watch?.start();
    else this.stopWatch();
  }

  /**
   * Is the pending text the start of a block header? The module writes a header in one go, so one
   * that goes silent part-way was cut too: were its line ended by the `\r\n` before a later `RDY`,
   * it would announce a block and take the boot output as data.
   */
  private headerPending(): boolean {
    const r = this.rest;
    if (!r || r[0] !== PLUS) return false;
    return ALL_MARKS.some((mark) => startsWith(r, 0, r.length, mark));
  }

  private onSilence(): void {
    if (this.block) {
      this.cut('silence');
      return;
    }
    const r = this.rest;
    this.stopWatch();
    if (!r || !this.headerPending()) return;
    this.rest = undefined;
    this.onToken({
      type: 'garbage',
      reason: 'header-cut',
      preview: r.toString('latin1', 0, Math.min(r.length, PREVIEW)),
    });
  }

  private stopWatch(): void {
    this.watch?.stop();
  }

  private scan(chunk: Buffer): void {
    const b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    const end = b.length;
    let pos = 0;
    // Next CR / LF at or after pos, cached so that lines ending in only one of them stay linear.
    let cr = -2;
    let lf = -2;
    const terminator = (from: number): number => {
      if (cr !== -1 && cr < from) cr = b.indexOf(CR, from);
      if (lf !== -1 && lf < from) lf = b.indexOf(LF, from);
      if (cr === -1) return lf;
      if (lf === -1) return cr;
      return Math.min(cr, lf);
    };

    while (pos < end) {
      switch (this.mode) {
        case Mode.Block: {
          const blk = this.block!;
          const take = Math.min(blk.data.length - blk.filled, end - pos);
          b.copy(blk.data, blk.filled, pos, pos + take);
          blk.filled += take;
          pos += take;
          if (blk.filled === blk.data.length) {
            if (blk.shape.trailer === 'always' || this.receiveTrailer) this.mode = Mode.TrailCr;
            else this.finishBlock();
          }
          continue;
        }
        case Mode.Sep: {
          const c = b[pos];
          if (c === LF) {
            pos++;
            this.mode = Mode.Block;
          } else if (c === CR) {
            pos++;
            this.mode = Mode.SepLf;
          } else {
            this.mode = Mode.Block;
          }
          continue;
        }
        case Mode.SepLf: {
          if (b[pos] === LF) pos++;
          this.mode = Mode.Block;
          continue;
        }
        case Mode.TrailCr:
        case Mode.TrailLf: {
          const want = this.mode === Mode.TrailCr ? CR : LF;
          if (b[pos] !== want) {
            // The announced length and the bytes disagree. Nothing after the block's end can be
            // told apart from its data, so the rest of this line is skipped too (a header right
            // here, as when bytes were dropped, starts after the CR/LF that ends the skip).
            this.cut('misaligned');
            this.mode = Mode.Discard;
            continue;
          }
          pos++;
          if (this.mode === Mode.TrailCr) this.mode = Mode.TrailLf;
          else this.finishBlock();
          continue;
        }
        case Mode.Discard: {
          const t = terminator(pos);
          if (t < 0) {
            pos = end;
          } else {
            pos = t;
            this.mode = Mode.Line;
          }
          continue;
        }
        case Mode.Line:
          break;
      }

      // Line mode: skip line ends and NUL noise between tokens.
      let c = b[pos];
      while (c === CR || c === LF || c === NUL) {
        if (++pos === end) break;
        c = b[pos];
      }
      if (pos === end) break;

      if (c === GT) {
        if (pos + 1 === end) break; // need one more byte to tell '> ' from a line
        const n = b[pos + 1];
        if (n === SP) {
          pos += 2;
          this.onToken({ type: 'prompt' });
          continue;
        }
        if (n === CR || n === LF) {
          pos += 1;
          this.onToken({ type: 'prompt' });
          continue;
        }
      }

      if (c === PLUS) {
        const r = this.colonHeader(b, pos, end, terminator);
        if (r === WAIT) break;
        if (r !== NOT_HEADER) {
          pos = r;
          continue;
        }
      }

      const t = terminator(pos);
      if (t < 0) {
        if (end - pos > this.maxLine) {
          this.garbage('line-too-long', b, pos, end);
          this.mode = Mode.Discard;
          pos = end;
        }
        break;
      }
      if (t - pos > this.maxLine) {
        this.garbage('line-too-long', b, pos, t);
        pos = t;
        continue;
      }
      const line = b.toString('utf8', pos, t);
      pos = t;
      if (c === PLUS && this.lineHeader(line)) continue;
      this.onToken(RE_ECHO.test(line) ? { type: 'echo', line } : { type: 'line', line });
    }

    if (pos < end) {
      // Copy so a large chunk is not retained for the sake of a few pending bytes.
      this.rest = Buffer.from(b.subarray(pos, end));
    }
  }

  /** A line that announces a block (`+CIPRXGET: 2,…`): start the block; false for other lines. */
  private lineHeader(line: string): boolean {
    for (const shape of LINE_SHAPES) {
      const f = parseShape(shape, line);
      if (!f) continue;
      if (f.len > this.maxBlock) this.onToken({ type: 'garbage', reason: 'block-too-large', preview: line });
      else this.startBlock(shape, line, f.id === undefined ? undefined : Number(f.id), f.len);
      return true;
    }
    return false;
  }

  /**
   * At a '+': recognise `+RECEIVE,<n>,<len>:` / `+IPD,<len>:` (data follows the colon, so these
   * cannot wait for a line end). Returns the position after the header, WAIT, or NOT_HEADER.
   */
  private colonHeader(b: Buffer, pos: number, end: number, terminator: (from: number) => number): number {
    const avail = end - pos;
    let shape: BlockShape | undefined;
    let mark: Buffer | undefined;
    for (const s of COLON_SHAPES) {
      mark = s.marks.find((m) => startsWith(b, pos, end, m));
      if (mark) {
        shape = s;
        break;
      }
    }
    if (!shape || !mark) return NOT_HEADER;
    if (avail < mark.length) return WAIT;
    const windowEnd = Math.min(end, pos + HEADER_WINDOW);
    const colon = b.subarray(pos, windowEnd).indexOf(COLON);
    const t = terminator(pos);
    if (colon < 0) {
      if (t < 0 && avail < HEADER_WINDOW) return WAIT;
      return NOT_HEADER;
    }
    const colonAt = pos + colon;
    if (t >= 0 && t < colonAt) return NOT_HEADER;
    const header = b.toString('latin1', pos, colonAt + 1);
    const f = parseShape(shape, header);
    if (!f) return NOT_HEADER;
    if (f.len > this.maxBlock) {
      this.onToken({ type: 'garbage', reason: 'block-too-large', preview: header });
      return colonAt + 1;
    }
    this.startBlock(shape, header, f.id === undefined ? undefined : Number(f.id), f.len);
    if (shape.start === 'colon' && this.mode === Mode.Sep) this.mode = Mode.Block;
    return colonAt + 1;
  }

  private startBlock(shape: BlockShape, line: string, link: number | undefined, len: number): void {
    this.block = { shape, line, data: Buffer.allocUnsafe(len), filled: 0 };
    if (link !== undefined) this.block.link = link;
    if (len === 0) {
      this.finishBlock();
      return;
    }
    this.mode = Mode.Sep;
  }

  /** Give up the block in progress: report it as cut (none of its data) and go back to lines. */
  private cut(reason: AtCutReason): void {
    const blk = this.block;
    if (!blk) return;
    this.block = undefined;
    this.mode = Mode.Line;
    this.stopWatch();
    const token: AtToken = { type: 'cut', kind: blk.shape.kind, line: blk.line, reason, received: blk.filled };
    if (blk.link !== undefined) token.link = blk.link;
    this.onToken(token);
  }

  private finishBlock(): void {
    const blk = this.block!;
    this.block = undefined;
    this.mode = Mode.Line;
    const token: AtToken = { type: 'block', kind: blk.shape.kind, line: blk.line, data: blk.data };
    if (blk.link !== undefined) token.link = blk.link;
    this.onToken(token);
  }

  private garbage(reason: 'line-too-long', b: Buffer, from: number, to: number): void {
    this.onToken({
      type: 'garbage',
      reason,
      preview: b.toString('utf8', from, Math.min(to, from + Math.min(PREVIEW, this.maxLine))),
    });
  }
}

const WAIT = -1;
const NOT_HEADER = -2;

/** Whether b[pos..end) matches the start of `mark` (all of it, or all of b if shorter). */
function startsWith(b: Buffer, pos: number, end: number, mark: Buffer): boolean {
  const n = Math.min(mark.length, end - pos);
  for (let i = 0; i < n; i++) if (b[pos + i] !== mark[i]) return false;
  return true;
}
