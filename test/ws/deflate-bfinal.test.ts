/**
 * Issue 17 item 2, kept fixed: a server that ends a compressed message with a final deflate block
 * (BFINAL = 1, RFC 7692 §7.2.3.4) instead of an empty sync-flush block. The client used to keep the
 * ended inflater, so every later compressed message arrived as ''. Both flush styles, mixed, with
 * and without context takeover, every chunking (one chunk, byte by byte, random splits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { WebSocketClient } from '../../src/ws/index.js';
import { okResponse, serverFrame, startRawServer, type RawConn, type RawServer } from './raw-server.js';

/** A server's compression context kept across messages (context takeover). */
class ServerDeflater {
  private def = zlib.createDeflateRaw({ windowBits: 15 });
  private out: Buffer[] = [];
  constructor() {
    this.def.on('data', (d: Buffer) => this.out.push(d));
  }
  /** Sync flush, trailer removed: the usual way to end a message. */
  async syncFlushed(data: Buffer): Promise<Buffer> {
    const b = await this.flush(data, zlib.constants.Z_SYNC_FLUSH);
    expect(b.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]));
    return b.subarray(0, b.length - 4);
  }
  /** Ends the stream with a final block: the context is gone afterwards, so a new one starts. */
  async finished(data: Buffer): Promise<Buffer> {
    const b = await this.flush(data, zlib.constants.Z_FINISH);
    this.def.close();
    this.def = zlib.createDeflateRaw({ windowBits: 15 });
    this.out = [];
    this.def.on('data', (d: Buffer) => this.out.push(d));
    return b;
  }
  private flush(data: Buffer, kind: number): Promise<Buffer> {
    this.def.write(data);
    return new Promise((resolve) =>
      this.def.flush(kind, () => {
        const b = Buffer.concat(this.out);
        this.out = [];
        resolve(b);
      }),
    );
  }
  close(): void {
    this.def.close();
  }
}

/** BFINAL style 1: one final block holding the data (zlib's Z_FINISH, what deflateRawSync gives). */
const finalBlock = (data: Buffer): Buffer => zlib.deflateRawSync(data);
/** BFINAL style 2: the data sync-flushed, trailer kept, then an empty final block (03 00). */
const flushThenEmptyFinal = (data: Buffer): Buffer =>
  Buffer.concat([zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), Buffer.from([0x03, 0x00])]);

const servers: Record<'takeover' | 'noTakeover', RawServer> = {} as never;
beforeAll(async () => {
  servers.takeover = await startRawServer((key) => okResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate']));
  servers.noTakeover = await startRawServer((key) =>
    okResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover']),
  );
});
afterAll(async () => {
  await servers.takeover.close();
  await servers.noTakeover.close();
});

async function session(server: RawServer) {
  const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, { keepaliveMs: 0, closeTimeoutMs: 1000 });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  const messages: Array<string | Buffer> = [];
  const waiters: Array<() => void> = [];
  client.on('message', (d) => {
    messages.push(d);
    for (const w of waiters.splice(0)) w();
  });
  const received = async (n: number) => {
    while (messages.length < n && errors.length === 0) await new Promise<void>((r) => waiters.push(r));
  };
  const conn = await server.next();
  await client.opened();
  return { client, conn, errors, messages, received };
}

type Chunking = 'one chunk' | 'byte by byte' | 'random splits';
const CHUNKINGS: Chunking[] = ['one chunk', 'byte by byte', 'random splits'];

async function sendChunked(conn: RawConn, bytes: Buffer, how: Chunking): Promise<void> {
  if (how === 'one chunk') return conn.send(bytes);
  if (how === 'byte by byte') return conn.send(bytes, 1);
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(Math.random() * 40);
    conn.socket.write(bytes.subarray(i, i + n));
    i += n;
    await new Promise((r) => setImmediate(r));
  }
}

/** One compressed message as a frame, or as two fragments when `split` is given. */
function compressedFrames(opcode: 1 | 2, payload: Buffer, split?: number): Buffer {
  if (split === undefined) return serverFrame(opcode, payload, { rsv: 4 });
  return Buffer.concat([
    serverFrame(opcode, payload.subarray(0, split), { rsv: 4, fin: false }),
    serverFrame(0, payload.subarray(split)),
  ]);
}

describe('permessage-deflate: messages that end with a final deflate block', () => {
  it.each(CHUNKINGS)('with context takeover, both flush styles mixed (%s)', async (how) => {
    const s = await session(servers.takeover);
    const ctx = new ServerDeflater();
    const repeated = Buffer.from('context takeover lets this sentence cost a few bytes the second time. '.repeat(3));
    const binary = randomBytes(3000);
    const wire: Buffer[] = [];
    const expected: Array<string | Buffer> = [];
    const add = (opcode: 1 | 2, payload: Buffer, data: Buffer, split?: number) => {
      wire.push(compressedFrames(opcode, payload, split));
      expected.push(opcode === 1 ? data.toString() : data);
    };
    add(1, finalBlock(Buffer.from('hello')), Buffer.from('hello'));
    add(1, finalBlock(Buffer.from('world')), Buffer.from('world'));
    const m3 = await ctx.syncFlushed(repeated);
    add(1, m3, repeated);
    const m4 = await ctx.syncFlushed(repeated);
    // The same text again is a back-reference into the kept window: proof the context is used.
    expect(m4.length).toBeLessThan(m3.length / 4);
    add(1, m4, repeated);
    // A final block that still refers to the window of m3/m4 (same stream), fragmented.
    const m5 = await ctx.finished(repeated);
    add(1, m5, repeated, Math.floor(m5.length / 2));
    add(2, flushThenEmptyFinal(binary), binary);
    // The server starts a new context after its final block; so must the client.
    add(1, await ctx.syncFlushed(repeated), repeated);
    add(1, await ctx.syncFlushed(Buffer.from('last')), Buffer.from('last'));
    await sendChunked(s.conn, Buffer.concat(wire), how);
    await s.received(expected.length);
    expect(s.errors).toEqual([]);
    expect(s.messages).toEqual(expected);
    ctx.close();
    s.client.terminate();
  });

  it.each(CHUNKINGS)('without context takeover, both flush styles mixed (%s)', async (how) => {
    const s = await session(servers.noTakeover);
    const texts = [
      'hello',
      'world',
      'a sync-flushed one '.repeat(20),
      'again final',
      'fragmented final '.repeat(10),
      'the end',
    ];
    const payloads = [
      finalBlock(Buffer.from(texts[0]!)),
      flushThenEmptyFinal(Buffer.from(texts[1]!)),
      await new ServerDeflater().syncFlushed(Buffer.from(texts[2]!)),
      finalBlock(Buffer.from(texts[3]!)),
      finalBlock(Buffer.from(texts[4]!)),
      await new ServerDeflater().syncFlushed(Buffer.from(texts[5]!)),
    ];
    const wire = payloads.map((p, i) => compressedFrames(1, p, i === 4 ? 3 : undefined));
    await sendChunked(s.conn, Buffer.concat(wire), how);
    await s.received(texts.length);
    expect(s.errors).toEqual([]);
    expect(s.messages).toEqual(texts);
    s.client.terminate();
  });

  it('keeps context takeover working across many sync-flushed messages after a final block', async () => {
    const s = await session(servers.takeover);
    const ctx = new ServerDeflater();
    const wire: Buffer[] = [serverFrame(1, finalBlock(Buffer.from('first')), { rsv: 4 })];
    const expected = ['first'];
    for (let i = 0; i < 50; i++) {
      const t = `message ${i % 5} with a shared tail that compresses against the window`;
      wire.push(serverFrame(1, await ctx.syncFlushed(Buffer.from(t)), { rsv: 4 }));
      expected.push(t);
    }
    await s.conn.send(Buffer.concat(wire));
    await s.received(expected.length);
    expect(s.errors).toEqual([]);
    expect(s.messages).toEqual(expected);
    ctx.close();
    s.client.terminate();
  });
});
