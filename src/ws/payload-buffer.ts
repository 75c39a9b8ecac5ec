// A received payload is assembled from pieces of the input chunks (or of zlib's output). Kept as
// they are, pieces cost far more than their bytes when they are small: a Buffer object each, and
// a view keeps its whole input chunk alive. A hostile server sending a message as millions of
// 1-byte frames would turn a few MB on the wire into gigabytes. So once a payload has many small
// pieces, or they keep much more alive than their bytes, small pieces are copied into blocks.
// Payloads of a few pieces (nearly all of them) are never copied before take().

/** Pieces at least this long that fill at least half their parent are always kept as views. */
const KEEP_AT_LEAST = 16 * 1024;
/** Small pieces kept as views before the payload switches to copying them. */
const MAX_SMALL_VIEWS = 32;
/** Bytes of parent chunks the small views may keep alive before that switch. */
const MAX_SMALL_VIEW_COST = 256 * 1024;
const BLOCK_MIN = 1024;
const BLOCK_MAX = 64 * 1024;

/** True when keeping `piece` as a view would hold more than twice its bytes alive. */
function wasteful(piece: Buffer): boolean {
  return piece.length * 2 < piece.buffer.byteLength;
}

function small(piece: Buffer): boolean {
  return piece.length < KEEP_AT_LEAST || wasteful(piece);
}

/**
 * The bytes of one payload being received. Memory stays within about twice the payload plus
 * 32 input chunks, in at most about one piece per 16 KiB once pieces are many.
 */
export class PayloadBuffer {
  private pieces: Buffer[] = [];
  private total = 0;
  private smallViews = 0;
  private smallViewCost = 0;
  /** Small pieces are copied into blocks (set once they were many). */
  private copying = false;
  private block: Buffer | null = null;
  private used = 0;
  /** Bytes copied into blocks so far: the next block grows with them. */
  private copied = 0;

  /** `limit`: the payload's largest size, so no block is ever larger. */
  constructor(private readonly limit: number) {}

  /** Bytes appended since the last {@link take}. */
  get length(): number {
    return this.total;
  }

  append(piece: Buffer): void {
    if (piece.length === 0) return;
    this.total += piece.length;
    if (!small(piece)) {
      this.seal();
      this.pieces.push(piece);
      return;
    }
    if (this.copying) {
      this.copyIn(piece);
      return;
    }
    this.pieces.push(piece);
    this.smallViews++;
    this.smallViewCost += piece.buffer.byteLength;
    if (this.smallViews > MAX_SMALL_VIEWS || this.smallViewCost > MAX_SMALL_VIEW_COST) this.startCopying();
  }

  /**
   * The whole payload (one Buffer) and a fresh start. A payload of one piece is that piece: a view
   * that may keep its input chunk alive (as the `ws` package's messages do); whoever holds many
   * such Buffers counts `buffer.byteLength` (see message-queue.ts).
   */
  take(): Buffer {
    this.seal();
    const pieces = this.pieces;
    const total = this.total;
    this.clear();
    if (pieces.length === 0) return Buffer.alloc(0);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
  }

  /** Drops everything held. */
  clear(): void {
    this.pieces = [];
    this.total = 0;
    this.smallViews = 0;
    this.smallViewCost = 0;
    this.copying = false;
    this.block = null;
    this.used = 0;
    this.copied = 0;
  }

  private startCopying(): void {
    const held = this.pieces;
    this.pieces = [];
    this.copying = true;
    for (const p of held) {
      if (small(p)) this.copyIn(p);
      else {
        this.seal();
        this.pieces.push(p);
      }
    }
  }

  private copyIn(piece: Buffer): void {
    let off = 0;
    while (off < piece.length) {
      if (!this.block || this.used === this.block.length) {
        this.seal();
        // Blocks grow with what was copied: a few small pieces cost little, many take few blocks.
        const size = Math.max(1, Math.min(BLOCK_MAX, this.limit, Math.max(BLOCK_MIN, piece.length - off, this.copied)));
        this.block = Buffer.allocUnsafeSlow(size);
        this.used = 0;
      }
      const n = piece.copy(this.block, this.used, off);
      this.used += n;
      this.copied += n;
      off += n;
    }
  }

  private seal(): void {
    // A block mostly unused (the payload's last one) is not kept whole: a copy of its bytes is.
    if (this.block && this.used > 0)
      this.pieces.push(
        this.used * 2 < this.block.length
          ? Buffer.from(this.block.subarray(0, this.used))
          : this.block.subarray(0, this.used),
      );
    this.block = null;
    this.used = 0;
  }
}
