import { maskInPlace, writeMaskKey } from './mask.js';

/** One frame to encode (the client always masks, RFC 6455 §5.3). */
export interface FrameSpec {
  fin: boolean;
  rsv1?: boolean;
  opcode: number;
  /** The payload; may be several pieces, written back to back without concatenating first. */
  payload: Uint8Array | readonly Uint8Array[];
  /** Tests only: a fixed mask key instead of a random one. */
  maskKey?: Uint8Array;
}

/** Byte length of a masked client frame header for a payload of `len` bytes. */
export function headerLength(len: number): number {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4;
}

// The payload starts at this offset of a fresh allocation, so it is word aligned for masking.
const HEAD_ROOM = 16;

/**
 * Encodes one masked frame into a single buffer (one write per frame: the module link sends
 * what it gets, so a header written apart would cost a packet of its own). The payload is
 * copied once and masked in place; the caller's buffer is never modified.
 */
export function encodeFrame(spec: FrameSpec): Buffer {
  const parts: readonly Uint8Array[] = spec.payload instanceof Uint8Array ? [spec.payload] : spec.payload;
  let len = 0;
  for (const p of parts) len += p.length;
  const hlen = headerLength(len);
  const alloc = len >= 256 ? Buffer.allocUnsafeSlow(HEAD_ROOM + len) : Buffer.allocUnsafe(HEAD_ROOM + len);
  const start = HEAD_ROOM - hlen;
  const out = alloc.subarray(start);
  out[0] = (spec.fin ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | (spec.opcode & 0x0f);
  let keyAt: number;
  if (len < 126) {
    out[1] = 0x80 | len;
    keyAt = 2;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
    keyAt = 4;
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    out.writeUInt32BE(len >>> 0, 6);
    keyAt = 10;
  }
  if (spec.maskKey) out.set(spec.maskKey.subarray(0, 4), keyAt);
  else writeMaskKey(out, keyAt);
  let pos = hlen;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  if (len > 0) maskInPlace(out, hlen, hlen + len, out, keyAt);
  return out;
}
