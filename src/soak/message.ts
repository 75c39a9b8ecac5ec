/**
 * The soak's messages: who sent it, on which connection, its sequence number, a payload, and a
 * SHA-256 over all of it, so that any corruption, truncation or splice is detected on arrival.
 *
 * Binary form: "SK" 0x01, idLen u8, id (ASCII), conn u32, seq u32, len u32, sha256 (32), payload.
 * Text form: JSON `{"id","conn","seq","len","sha","p"}` with the payload in base64.
 * Both hash the same bytes (id, conn, seq, len, payload), so both can carry the same message.
 */
import { createHash } from 'node:crypto';
import { SoakError } from './errors.js';

export interface SoakMessage {
  /** Sender: a client name, or "srv". */
  id: string;
  /** Connection number (the sender's count of connections so far). */
  conn: number;
  seq: number;
  payload: Buffer;
}

export type Decoded = { ok: true; msg: SoakMessage } | { ok: false; reason: string };

const MAGIC = Buffer.from([0x53, 0x4b, 0x01]);
const MAX_ID = 64;

function digest(id: string, conn: number, seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(conn, 0);
  head.writeUInt32BE(seq, 4);
  head.writeUInt32BE(payload.length, 8);
  return createHash('sha256').update(id, 'latin1').update(head).update(payload).digest();
}

function checkId(id: string): void {
  if (!/^[\x21-\x7e]{1,64}$/.test(id))
    throw new SoakError(
      'ERR_SOAK_FRAME',
      `Bad sender id ${JSON.stringify(id)}: use 1..${MAX_ID} printable ASCII characters.`,
    );
}

/** Binary encoding of `m`. */
export function encodeBinary(m: SoakMessage): Buffer {
  checkId(m.id);
  const id = Buffer.from(m.id, 'latin1');
  const head = Buffer.alloc(3 + 1 + id.length + 12);
  MAGIC.copy(head, 0);
  head[3] = id.length;
  id.copy(head, 4);
  const o = 4 + id.length;
  head.writeUInt32BE(m.conn, o);
  head.writeUInt32BE(m.seq, o + 4);
  head.writeUInt32BE(m.payload.length, o + 8);
  return Buffer.concat([head, digest(m.id, m.conn, m.seq, m.payload), m.payload]);
}

/** Decodes and verifies a binary message; never throws. */
export function decodeBinary(buf: Buffer): Decoded {
  if (buf.length < 4 || !buf.subarray(0, 3).equals(MAGIC)) return { ok: false, reason: 'bad magic' };
  const idLen = buf[3]!;
  if (idLen === 0 || idLen > MAX_ID) return { ok: false, reason: `bad id length ${idLen}` };
  const fixed = 4 + idLen + 12 + 32;
  if (buf.length < fixed) return { ok: false, reason: `truncated header (${buf.length} bytes)` };
  const id = buf.toString('latin1', 4, 4 + idLen);
  const o = 4 + idLen;
  const conn = buf.readUInt32BE(o);
  const seq = buf.readUInt32BE(o + 4);
  const len = buf.readUInt32BE(o + 8);
  if (buf.length !== fixed + len)
    return { ok: false, reason: `length ${buf.length - fixed}, header says ${len} (${id} #${seq})` };
  const payload = buf.subarray(fixed);
  const sha = buf.subarray(o + 12, o + 44);
  if (!digest(id, conn, seq, payload).equals(sha)) return { ok: false, reason: `SHA-256 mismatch (${id} #${seq})` };
  return { ok: true, msg: { id, conn, seq, payload } };
}

/** Text (JSON) encoding of `m`. */
export function encodeText(m: SoakMessage): string {
  checkId(m.id);
  return JSON.stringify({
    id: m.id,
    conn: m.conn,
    seq: m.seq,
    len: m.payload.length,
    sha: digest(m.id, m.conn, m.seq, m.payload).toString('hex'),
    p: m.payload.toString('base64'),
  });
}

/** Decodes and verifies a text message; never throws. */
export function decodeText(text: string): Decoded {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return { ok: false, reason: `not JSON (${text.length} chars)` };
  }
  if (typeof o !== 'object' || o === null) return { ok: false, reason: 'not an object' };
  const r = o as Record<string, unknown>;
  const { id, conn, seq, len, sha, p } = r;
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(id)) return { ok: false, reason: 'bad id' };
  if (!isU32(conn) || !isU32(seq) || !isU32(len) || typeof sha !== 'string' || typeof p !== 'string')
    return { ok: false, reason: `bad fields (${id})` };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(p) || p.length % 4 !== 0)
    return { ok: false, reason: `bad base64 (${id} #${seq})` };
  const payload = Buffer.from(p, 'base64');
  if (payload.length !== len)
    return { ok: false, reason: `length ${payload.length}, header says ${len} (${id} #${seq})` };
  if (digest(id, conn, seq, payload).toString('hex') !== sha)
    return { ok: false, reason: `SHA-256 mismatch (${id} #${seq})` };
  return { ok: true, msg: { id, conn, seq, payload } };
}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** A length-prefixed frame (u32 big-endian length, then the bytes): the raw-socket framing. */
export function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Splits a byte stream into length-prefixed frames, whatever the chunking. A length above
 * `maxFrame` throws `ERR_SOAK_FRAME` (the stream is then unusable: a corrupted length).
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame: number) {}

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      if (this.parts[0]!.length < 4) this.parts = [Buffer.concat(this.parts, this.buffered)];
      const len = this.parts[0]!.readUInt32BE(0);
      if (len > this.maxFrame)
        throw new SoakError(
          'ERR_SOAK_FRAME',
          `Frame length ${len} exceeds ${this.maxFrame}: the stream is corrupted (or the peer speaks another protocol).`,
        );
      // Join only once the whole frame is here: a large frame in small chunks stays linear.
      if (this.buffered < 4 + len) break;
      const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.buffered);
      out.push(Buffer.from(all.subarray(4, 4 + len)));
      const rest = all.subarray(4 + len);
      this.parts = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return out;
  }
}
