import { isUtf8 } from 'node:buffer';

/*
 * Incremental UTF-8 validation so that a text message fails (1007) as soon as the byte that makes
 * it invalid arrives, whatever the fragment or chunk boundaries. It is Bjoern Hoehrmann's DFA
 * (https://bjoern.hoehrmann.de/utf-8/decoder/dfa/), with Node's native `isUtf8` as a fast path for
 * the complete-sequence prefix of each chunk.
 */

const ACCEPT = 0;
const REJECT = 12;

// Byte → character class.
const CLASS = new Uint8Array([
  ...new Array<number>(128).fill(0),
  ...new Array<number>(16).fill(1),
  ...new Array<number>(16).fill(9),
  ...new Array<number>(32).fill(7),
  8,
  8,
  ...new Array<number>(30).fill(2),
  10,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  3,
  4,
  3,
  3,
  11,
  6,
  6,
  6,
  5,
  8,
  8,
  8,
  8,
  8,
  8,
  8,
  8,
  8,
  8,
  8,
]);

// (state + class) → next state; states are multiples of 12.
const TRANSITION = new Uint8Array([
  0, 12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 0, 12, 12, 12, 12,
  12, 0, 12, 0, 12, 12, 12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12,
  12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12, 12,
  12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
]);

/** A validator that carries its state across calls to {@link Utf8Validator.write}. */
export class Utf8Validator {
  private state = ACCEPT;

  /** Feeds more bytes; false as soon as the input so far can no longer be valid UTF-8. */
  write(chunk: Uint8Array): boolean {
    let start = 0;
    const len = chunk.length;
    if (this.state === ACCEPT && len >= 16) {
      // Cut before the last (possibly incomplete) sequence; the native check covers the prefix.
      let cut = len;
      for (let back = 1; back <= 3 && back <= len; back++) {
        const b = chunk[len - back]!;
        if ((b & 0xc0) !== 0x80) {
          cut = b >= 0xc0 ? len - back : len;
          break;
        }
      }
      if (!isUtf8(chunk.subarray(0, cut))) {
        this.state = REJECT;
        return false;
      }
      start = cut;
    }
    let s = this.state;
    for (let i = start; i < len; i++) {
      s = TRANSITION[s + CLASS[chunk[i]!]!]!;
      if (s === REJECT) break;
    }
    this.state = s;
    return s !== REJECT;
  }

  /** True when everything written so far is valid and ends on a character boundary. */
  get complete(): boolean {
    return this.state === ACCEPT;
  }

  reset(): void {
    this.state = ACCEPT;
  }

  /** A validator in the same state: try input on the copy, keep it only if it passed. */
  clone(): Utf8Validator {
    const v = new Utf8Validator();
    v.state = this.state;
    return v;
  }
}

/** Whole-buffer check (close reasons, small payloads). */
export function isValidUtf8(buf: Uint8Array): boolean {
  return isUtf8(buf);
}
