/**
 * Line faults inside a received-data block: bytes dropped from, or inserted into, the module's
 * output in the middle of the next `+RECEIVE` / `+CIPRXGET: 2` / `+IPD` block, as a flaky UART
 * line does. The block's announced length no longer matches its bytes.
 */

/** What to do to the next block: drop `drop` bytes, or insert `insert` bytes, in its middle. */
export type BlockFault = { drop: number } | { insert: Buffer };

/** Headers whose data follows in the same write (push) or in the next one (pull: a separate raw write). */
const HEADER = /\+RECEIVE,\d+,(\d+):\r\n|\+IPD,(\d+)(?:,TCP|,UDP)?:|\+CIPRXGET: 2,(?:\d+,)?(\d+),\d+(?:,"[^"]*")?\r\n/;

/**
 * Applies one armed {@link BlockFault} to the module's output stream, write by write. Arm with
 * {@link arm}; {@link apply} returns each write, altered once the block is found.
 */
export class BlockFaulter {
  private fault: BlockFault | undefined;
  /** A pull header was written without its data: the next write is the data (this many bytes). */
  private dataNext = 0;

  arm(fault: BlockFault): void {
    this.fault = fault;
    this.dataNext = 0;
  }

  /** Forget an armed fault (the module lost power). */
  disarm(): void {
    this.fault = undefined;
    this.dataNext = 0;
  }

  apply(buf: Buffer): Buffer {
    const f = this.fault;
    if (!f) return buf;
    if (this.dataNext > 0) {
      const len = Math.min(this.dataNext, buf.length);
      this.fault = undefined;
      this.dataNext = 0;
      return alter(buf, Math.floor(len / 2), f);
    }
    const m = HEADER.exec(buf.toString('latin1'));
    if (!m) return buf;
    const len = Number(m[1] ?? m[2] ?? m[3]);
    if (len < 2) return buf;
    const start = m.index + m[0].length;
    const here = Math.min(len, buf.length - start);
    if (here < 2) {
      this.dataNext = len;
      return buf;
    }
    this.fault = undefined;
    return alter(buf, start + Math.floor(here / 2), f);
  }
}

function alter(buf: Buffer, at: number, f: BlockFault): Buffer {
  if ('drop' in f) return Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + f.drop))]);
  return Buffer.concat([buf.subarray(0, at), f.insert, buf.subarray(at)]);
}
