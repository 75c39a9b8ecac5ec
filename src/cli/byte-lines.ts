/**
 * Lines of a byte stream as bytes. readline decodes its input as UTF-8 (invalid bytes become
 * U+FFFD) and also ends a line at a lone CR, so it cannot give `ws --binary` the exact bytes a
 * line held: this splits at LF only and hands over the bytes before it untouched.
 */
import type { Readable } from 'node:stream';

export interface ByteLineHandlers {
  line(bytes: Buffer): void;
  /** A line longer than the bound: its bytes up to the next LF were dropped (reported, not sent in pieces). */
  overflow(droppedBytes: number): void;
  /** End of input (a last line without LF was handed over first). */
  end(): void;
}

/** Reads `input` line by line until it ends; returns a function that stops reading. */
export function readByteLines(input: Readable, maxLineBytes: number, on: ByteLineHandlers): () => void {
  let parts: Buffer[] = [];
  let held = 0;
  let dropping = 0;
  const onData = (chunk: Buffer | string): void => {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (;;) {
      const lf = buf.indexOf(0x0a);
      const piece = lf < 0 ? buf : buf.subarray(0, lf);
      if (dropping > 0 || held + piece.length > maxLineBytes) {
        dropping += held + piece.length;
        parts = [];
        held = 0;
      } else if (piece.length > 0) {
        parts.push(piece);
        held += piece.length;
      }
      if (lf < 0) return;
      if (dropping > 0) {
        on.overflow(dropping);
        dropping = 0;
      } else {
        on.line(Buffer.concat(parts, held));
      }
      parts = [];
      held = 0;
      buf = buf.subarray(lf + 1);
    }
  };
  const onEnd = (): void => {
    if (dropping > 0) on.overflow(dropping);
    else if (held > 0) on.line(Buffer.concat(parts, held));
    parts = [];
    held = 0;
    dropping = 0;
    on.end();
  };
  input.on('data', onData);
  input.once('end', onEnd);
  return () => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.pause();
  };
}
