// A received payload is assembled from pieces of the input chunks (or of zlib's output). Kept as
// they are, pieces cost far more than their bytes when they are small: a Buffer object each, and
// a view retains its whole parent chunk. A hostile server sending a message as millions of 1-byte
// frames (or 1-byte messages between pings) would turn a few MB on the wire into gigabytes.
// So small pieces, and pieces that are a small part of their parent, are copied into blocks.

/** Pieces at least this long that fill at least half their parent are kept without a copy. */
const KEEP_AT_LEAST = 16 * 1024;
const BLOCK_MIN = 1024;
const BLOCK_MAX = 64 * 1024;

/** True when keeping `piece` as a view would hold more than twice its bytes alive. */
function wasteful(piece: Buffer): boolean {
  return piece.length * 2 < piece.buffer.byteLength;
}

/**
 * The bytes of one payload being received, held in at most ~1 piece per 16 KiB, and never more
 * than about twice the payload's size in memory.
 */
export class PayloadBuffer {
  private pieces: Buffer[] = [];
  private block: Buffer | null = null;
  private used = 0;
  private total = 0;

  /** `limit`: the payload's largest size, so no block is ever larger. */
  constructor(private readonly limit: number) {}

  /** Bytes appended since the last {@link take}. */
  get length(): number {
    return this.total;
  }

  append(piece: Buffer): void {
    if (piece.length === 0) return;
    const first = this.total === 0;
    this.total += piece.length;
    if ((first || piece.length >= KEEP_AT_LEAST) && !wasteful(piece)) {
      this.seal();
      this.pieces.push(piece);
      return;
    }
    if (first) {
      // Most payloads are one piece: a copy of just its bytes, no block.
      this.pieces.push(Buffer.from(piece));
      return;
    }
    let off = 0;
    while (off < piece.length) {
      if (!this.block || this.used === this.block.length) {
        this.seal();
        // Blocks grow with the payload, so a short payload costs little and a long one few blocks.
        const size = Math.max(1, Math.min(BLOCK_MAX, this.limit, Math.max(BLOCK_MIN, piece.length - off, this.total)));
        this.block = Buffer.allocUnsafeSlow(size);
        this.used = 0;
      }
      const n = piece.copy(this.block, this.used, off);
      this.used += n;
      off += n;
    }
  }

  /** The whole payload (one Buffer) and a fresh start. */
  take(): Buffer {
    this.seal();
    const pieces = this.pieces;
    const total = this.total;
    this.pieces = [];
    this.total = 0;
    if (pieces.length === 0) return Buffer.alloc(0);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
  }

  /** Drops everything held. */
  clear(): void {
    this.pieces = [];
    this.block = null;
    this.used = 0;
    this.total = 0;
  }

  private seal(): void {
    // A block mostly unused (the payload's last one) is not kept whole: a copy of its bytes is.
    if (this.block && this.used > 0) this.pieces.push(this.used * 2 < this.block.length ? Buffer.from(this.block.subarray(0, this.used)) : this.block.subarray(0, this.used));
    this.block = null;
    this.used = 0;
  }
}
