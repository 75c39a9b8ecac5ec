/**
 * Issue 17 item 3, kept fixed: the queue behind `for await` was bounded in messages (64), not
 * bytes, and compression is on by default, so small compressed messages that inflate to maxPayload
 * each filled the heap of a client whose loop was slower than the server. Now the queue is bounded
 * in bytes (maxQueuedBytes) and reading stops (socket paused, decoder held at a frame boundary)
 * while it is full. Crafted server on 127.0.0.1; memory bounds are generous.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import net from 'node:net';
import zlib from 'node:zlib';
import { WebSocketClient } from '../../src/ws/index.js';
import { MB, watchMemory } from './memory.js';
import { okResponse, serverFrame, startRawServer, type RawServer } from './raw-server.js';

let deflateServer: RawServer;
let plainServer: RawServer;
beforeAll(async () => {
  deflateServer = await startRawServer((key) =>
    okResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover']),
  );
  plainServer = await startRawServer();
});
afterAll(async () => {
  await deflateServer.close();
  await plainServer.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a for-await loop slower than the server', () => {
  it('compressed bombs: memory stays near the queue bound plus a few messages, and every message arrives', async () => {
    const size = 16 * MB;
    const count = 40; // 640 MiB inflated from well under 1 MB on the wire
    const bomb = zlib.deflateRawSync(Buffer.alloc(size), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const frame = serverFrame(2, bomb.subarray(0, bomb.length - 4), { rsv: 4 });
    const wire = Buffer.concat(Array.from({ length: count }, () => frame));
    expect(wire.length).toBeLessThan(1 * MB);

    const client = new WebSocketClient(`ws://127.0.0.1:${deflateServer.port}/`, {
      keepaliveMs: 0,
      maxPayload: size,
      closeTimeoutMs: 2000,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const conn = await deflateServer.next();
    await client.opened();
    const watch = watchMemory({ abortAboveBytes: 400 * MB, onAbort: () => client.terminate() });
    void conn.send(wire);
    let received = 0;
    for await (const m of client) {
      expect((m.data as Buffer).length).toBe(size);
      received++;
      if (received === count || watch.aborted) break;
      await sleep(150); // the slow consumer: inflating a message takes far less
    }
    const afterGc = watch.stop();
    console.log(
      `bombs: ${received} x ${size / MB} MiB, peak growth ${(watch.peakGrowth / MB).toFixed(0)} MB (heap + buffers), RSS +${(watch.peakRssGrowth / MB).toFixed(0)} MB, after GC ${(afterGc / MB).toFixed(1)} MB`,
    );
    expect(watch.aborted, `memory grew past 400 MB (peak ${(watch.peakGrowth / MB).toFixed(0)} MB)`).toBe(false);
    expect(received).toBe(count);
    expect(errors).toEqual([]);
    // The consumer's message, one waiting, one being inflated and its concatenation, the bound.
    expect(watch.peakGrowth).toBeLessThan(8 * size);
    client.terminate();
  }, 120_000);

  it('the queue is bounded in bytes: reading stops near maxQueuedBytes, then everything arrives in order', async () => {
    let socket: net.Socket | undefined;
    const client = new WebSocketClient(`ws://127.0.0.1:${plainServer.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      maxQueuedBytes: 64 * 1024,
      connect: async (t) => {
        socket = net.connect(t.port, t.host);
        await once(socket, 'connect');
        return socket;
      },
    });
    client.on('error', () => {});
    let emitted = 0;
    client.on('message', () => emitted++);
    const conn = await plainServer.next();
    await client.opened();
    const n = 500;
    const frames = Array.from({ length: n }, (_, i) => serverFrame(2, Buffer.alloc(4096, i & 0xff)));
    const total = Buffer.concat(frames);
    const it = client[Symbol.asyncIterator]();
    void conn.send(total);
    const first = await it.next();
    expect((first.value!.data as Buffer)[0]).toBe(0);
    await sleep(300); // the loop body is busy
    // 64 KiB holds 15 messages of 4 KiB (+128 counted each): decoding stopped right there.
    expect(emitted).toBeLessThanOrEqual(1 + 16);
    expect(socket!.bytesRead).toBeLessThan(total.length / 2);
    for (let i = 1; i < n; i++) {
      const r = await it.next();
      expect((r.value!.data as Buffer)[0]).toBe(i & 0xff);
    }
    expect(emitted).toBe(n);
    await it.return!();
    client.terminate();
  });

  it('counts what a binary message keeps alive: a 1-byte message that is a view of a 60 KB chunk counts 60 KB', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${plainServer.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      maxQueuedBytes: 1024 * 1024,
    });
    client.on('error', () => {});
    let emitted = 0;
    client.on('message', () => emitted++);
    const conn = await plainServer.next();
    await client.opened();
    const it = client[Symbol.asyncIterator]();
    const padding = Buffer.alloc(30_000 * 2);
    for (let i = 0; i < padding.length; i += 2) padding[i] = 0x8a; // empty unsolicited pongs (ignored)
    const n = 100;
    const sending = (async () => {
      // One message per read: the message, then 60 KB of pongs the client decodes and drops.
      for (let i = 0; i < n && !conn.clientEnded; i++) {
        conn.socket.write(Buffer.concat([serverFrame(2, Buffer.from([i])), padding]));
        await sleep(5);
      }
    })();
    const first = await it.next();
    expect((first.value!.data as Buffer)[0]).toBe(0);
    await sending;
    await sleep(300);
    // 1 MiB holds about 17 such messages; counted by their bytes it would have taken all 100.
    expect(emitted).toBeLessThan(40);
    for (let i = 1; i < n; i++) expect(((await it.next()).value!.data as Buffer)[0]).toBe(i);
    await it.return!();
    client.terminate();
  });

  it('a paused client still closes cleanly when the server closes, and the loop gets what was sent before', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${plainServer.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      maxQueuedBytes: 8 * 1024,
      closeTimeoutMs: 2000,
    });
    client.on('error', () => {});
    const conn = await plainServer.next();
    await client.opened();
    const n = 50;
    await conn.send(
      Buffer.concat([
        ...Array.from({ length: n }, (_, i) => serverFrame(1, `${i}`.padEnd(1000, '.'))),
        serverFrame(8, Buffer.from([0x03, 0xe8])),
      ]),
    );
    await sleep(200);
    conn.socket.end();
    const got: string[] = [];
    for await (const m of client) {
      got.push(String(m.data).split('.')[0]!);
      await sleep(2);
    }
    expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    expect(client.state).toBe('closed');
  });
});
