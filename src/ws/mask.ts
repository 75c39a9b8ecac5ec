import { randomFillSync } from 'node:crypto';

/*
 * Masking runs over every byte the client sends, so it works on 32-bit words wherever the target
 * is 4-byte aligned, and the random mask keys are drawn from a pooled buffer of crypto bytes
 * instead of one `randomBytes(4)` call per frame.
 */

const POOL_SIZE = 8 * 1024;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** Writes a fresh random 4-byte mask key into `target` at `offset`. */
export function writeMaskKey(target: Buffer, offset: number): void {
  if (poolOffset + 4 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  target[offset] = pool[poolOffset]!;
  target[offset + 1] = pool[poolOffset + 1]!;
  target[offset + 2] = pool[poolOffset + 2]!;
  target[offset + 3] = pool[poolOffset + 3]!;
  poolOffset += 4;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * XORs `buf[start..end)` in place with the 4-byte key at `key[keyOffset..]`, the key phase starting
 * at byte `start`. Uses word operations on the aligned middle of the range.
 */
export function maskInPlace(buf: Buffer, start: number, end: number, key: Buffer, keyOffset: number): void {
  const k0 = key[keyOffset]!;
  const k1 = key[keyOffset + 1]!;
  const k2 = key[keyOffset + 2]!;
  const k3 = key[keyOffset + 3]!;
  const k = [k0, k1, k2, k3];
  let i = start;
  const abs = buf.byteOffset;
  // Bytes until the absolute address is word aligned.
  while (i < end && ((abs + i) & 3) !== 0) {
    buf[i] = buf[i]! ^ k[(i - start) & 3]!;
    i++;
  }
  const words = (end - i) >>> 2;
  if (words > 0) {
    const phase = (i - start) & 3;
    const b0 = k[phase]!;
    const b1 = k[(phase + 1) & 3]!;
    const b2 = k[(phase + 2) & 3]!;
    const b3 = k[(phase + 3) & 3]!;
    const word = LITTLE_ENDIAN
      ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
      : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
    const u32 = new Uint32Array(buf.buffer, abs + i, words);
    for (let w = 0; w < words; w++) u32[w] = u32[w]! ^ word;
    i += words * 4;
  }
  while (i < end) {
    buf[i] = buf[i]! ^ k[(i - start) & 3]!;
    i++;
  }
}
