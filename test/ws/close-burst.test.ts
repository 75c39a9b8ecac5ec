/**
 * RFC 6455 §7.1.4/§7.1.5: when the server's FIN lands right behind its last messages and its close
 * frame, every byte already received is still decoded — pending inflates finish, every message is
 * delivered in order, and the close frame makes the close clean with the server's code. Only then
 * is 'close' reported (1006 only when no close frame arrived).
 *
 * Sending everything in one write makes the race deterministic: the first compressed frame starts
 * an asynchronous inflate, the rest waits in the receiver, and the stream ends meanwhile.
 */
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../src/ws/index.js';
import {
  burst,
  chunkings,
  digest,
  echoLinesThenClose,
  openCollecting,
  startBurstPeers,
  type BurstMessage,
  type BurstPeers,
} from './burst.js';
import type { WsPeer } from './peers.js';
import { closeBody, serverFrame, type RawConn, type RawServer } from './raw-server.js';

let peers: BurstPeers;
let rawDeflate: RawServer;
let rawPlain: RawServer;
let wsEcho: WsPeer;
beforeAll(async () => {
  peers = await startBurstPeers();
  ({ rawDeflate, rawPlain, wsEcho } = peers);
});
afterAll(() => peers.close());

/** A client to `server` collecting messages and errors; resolves once open with its server-side connection. */
const open = (server: RawServer, deflate: boolean) =>
  openCollecting(server, { perMessageDeflate: deflate, keepaliveMs: 0, closeTimeoutMs: 10_000 });

/** Writes `bytes` in the given pieces (an event-loop turn between them), then the FIN at once. */
async function sendThenFin(conn: RawConn, bytes: Buffer, pieces: Buffer[] = [bytes]): Promise<void> {
  expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (i === pieces.length - 1) conn.socket.end(piece);
    else {
      conn.socket.write(piece);
      await new Promise((r) => setImmediate(r));
    }
  }
}

describe('server close frame + FIN right behind its messages (raw server)', () => {
  for (const deflate of [true, false]) {
    const label = deflate ? 'permessage-deflate' : 'no deflate';

    it(`${label}, server-initiated, one write: every message in order, then 1000 clean`, async () => {
      for (let round = 0; round < 3; round++) {
        const { client, conn, got, errors, closed } = await open(deflate ? rawDeflate : rawPlain, deflate);
        const b = burst(40, { compress: deflate, seed: round + 1, close: [1000, 'done'] });
        await sendThenFin(conn, b.bytes);
        expect(await closed).toEqual({ code: 1000, reason: 'done', wasClean: true });
        expect(digest(got)).toEqual(digest(b.messages));
        expect(errors).toEqual([]);
        expect(client.state).toBe('closed');
      }
    });

    it(`${label}, after our close frame (as at the end of piped input), one write`, async () => {
      for (let round = 0; round < 3; round++) {
        const { conn, got, errors, closed, client } = await open(deflate ? rawDeflate : rawPlain, deflate);
        client.close(1000, 'eof');
        expect(await conn.closeFrame()).toEqual({ code: 1000, reason: 'eof' });
        const b = burst(40, { compress: deflate, seed: 10 + round, close: [1000, 'eof'] });
        await sendThenFin(conn, b.bytes);
        expect(await closed).toEqual({ code: 1000, reason: 'eof', wasClean: true });
        expect(digest(got)).toEqual(digest(b.messages));
        expect(errors).toEqual([]);
      }
    });

    it(`${label}, every chunking kind (byte by byte, random splits, halves): same result`, async () => {
      const small = burst(6, { compress: deflate, seed: 77, close: [4000, 'app'], small: true });
      const big = burst(25, { compress: deflate, seed: 78, close: [1000, ''] });
      const cases: Array<{ b: ReturnType<typeof burst>; pieces: Buffer[] }> = [];
      for (const pieces of chunkings(small.bytes, 79, { byteByByte: true })) cases.push({ b: small, pieces });
      for (const pieces of chunkings(big.bytes, 80)) cases.push({ b: big, pieces });
      for (const { b, pieces } of cases) {
        const { conn, got, errors, closed } = await open(deflate ? rawDeflate : rawPlain, deflate);
        await sendThenFin(conn, b.bytes, pieces);
        const [code, reason] = b.close!;
        expect(await closed, `${pieces.length} pieces`).toEqual({ code, reason, wasClean: true });
        expect(digest(got), `${pieces.length} pieces`).toEqual(digest(b.messages));
        expect(errors).toEqual([]);
      }
    });

    it(`${label}, FIN without a close frame: every complete message, then 1006 not clean`, async () => {
      const { conn, got, closed } = await open(deflate ? rawDeflate : rawPlain, deflate);
      const b = burst(30, { compress: deflate, seed: 5 });
      // A truncated frame at the end: complete messages before it still count, it does not.
      await sendThenFin(conn, Buffer.concat([b.bytes, b.bytes.subarray(0, 3)]));
      expect(await closed).toEqual({ code: 1006, reason: '', wasClean: false });
      expect(digest(got)).toEqual(digest(b.messages));
    });
  }

  it('async iteration paused by backpressure when the FIN arrives: all 150 messages, then the iterator ends', async () => {
    const { client, conn, got, errors, closed } = await open(rawDeflate, true);
    const it = client[Symbol.asyncIterator]();
    const b = burst(150, { compress: true, seed: 9, close: [1000, 'bye'], small: true });
    await sendThenFin(conn, b.bytes);
    // Over 64 unread messages pause the input; give the FIN time to arrive while paused.
    while (got.length <= 64 && client.state !== 'closed') await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const read: BurstMessage[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      read.push(r.value);
    }
    expect(digest(read)).toEqual(digest(b.messages));
    expect(await closed).toEqual({ code: 1000, reason: 'bye', wasClean: true });
    expect(errors).toEqual([]);
  });

  it('an invalid compressed message behind pending inflates still fails the connection (1007), not a clean close', async () => {
    const { conn, got, errors, closed } = await open(rawDeflate, true);
    const b = burst(10, { compress: true, seed: 3, close: [1000, ''], corruptLast: true });
    await sendThenFin(conn, b.bytes);
    const c = await closed;
    expect(c.wasClean).toBe(false);
    expect(c.code).toBe(1007);
    expect(errors.map((e) => (e as { code?: string }).code)).toContain('ERR_WS_INFLATE');
    expect(digest(got)).toEqual(digest(b.messages.slice(0, -1)));
  });
});

describe('the wait for pending inflates after the stream closed is bounded', () => {
  it('closeTimeoutMs 1 and a 32 MiB inflate pending: 1006, an ERR_WS_CLOSED error saying what was dropped', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${rawDeflate.port}/`, { keepaliveMs: 0, closeTimeoutMs: 1 });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const got: unknown[] = [];
    client.on('message', (d) => got.push(d));
    const conn = await rawDeflate.next();
    await client.opened();
    const closed = client.closed();
    // 32 MiB of zeros deflate to ~32 kB but take far longer than 1 ms to inflate.
    const big = zlib
      .deflateRawSync(Buffer.alloc(32 * 1024 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
      .subarray(0, -4);
    conn.socket.end(Buffer.concat([serverFrame(2, big, { rsv: 4 }), serverFrame(8, closeBody(1000, 'late'))]));
    expect(await closed).toEqual({ code: 1006, reason: '', wasClean: false });
    expect(got).toEqual([]);
    expect(errors.map((e) => [(e as { code?: string }).code, /not decoded within 1 ms/.test(e.message)])).toEqual([
      ['ERR_WS_CLOSED', true],
    ]);
  });
});

describe('deflate echo server closing right after its echoes (ws package)', () => {
  it('200 messages sent, then close(): all 200 echoes in order, 1000 clean (10 runs)', async () => {
    for (let run = 0; run < 10; run++) {
      const client = new WebSocketClient(`ws://127.0.0.1:${wsEcho.port}/`, { keepaliveMs: 0, closeTimeoutMs: 10_000 });
      await echoLinesThenClose(client, 200, `run ${run}`);
    }
  });
});
