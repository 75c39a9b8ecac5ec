/**
 * Issue 11 defect 3, kept fixed: a server sends one message as millions of 1-byte continuation
 * frames. Each held fragment used to cost a Buffer object (and kept its input chunk alive), so
 * memory grew far beyond the message's bytes without reaching maxPayload. Now small fragments are
 * copied into blocks and a message may span at most max(1024, maxPayload / 64) frames: the client
 * fails the connection with 1009 while its memory stays small. Plain socket on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../src/ws/index.js';
import { maxFramesPerMessage } from '../../src/ws/receiver.js';
import { MB, watchMemory } from './memory.js';
import { serverFrame, startRawServer, type RawServer } from './raw-server.js';

let server: RawServer;
beforeAll(async () => {
  server = await startRawServer();
});
afterAll(() => server.close());

/** `n` frames of one binary message, 1 byte each, the last without FIN (it never ends). */
function oneByteFrames(n: number): Buffer {
  const out = Buffer.allocUnsafe(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = i === 0 ? 0x02 : 0x00; // binary, then continuations; FIN never set
    out[i * 3 + 1] = 1;
    out[i * 3 + 2] = i & 0xff;
  }
  return out;
}

describe('a message sent as millions of 1-byte frames', () => {
  it('fails with 1009 and keeps heap growth under 64 MB (2 M frames, default maxPayload)', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      closeTimeoutMs: 2000,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const conn = await server.next();
    await client.opened();
    const closed = client.closed();
    const flood = oneByteFrames(2 * 1024 * 1024);
    const watch = watchMemory({ abortAboveBytes: 256 * MB, onAbort: () => client.terminate() });
    // In 64 KiB writes, as a server would, so the client's reads interleave with the sampling.
    for (let i = 0; i < flood.length && !conn.clientEnded && !watch.aborted; i += 64 * 1024) {
      if (!conn.socket.write(flood.subarray(i, i + 64 * 1024))) await new Promise((r) => conn.socket.once('drain', r));
    }
    const ev = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
    const afterGc = watch.stop();
    console.log(
      `fragment flood: peak growth ${(watch.peakGrowth / MB).toFixed(1)} MB (heap + buffers), RSS +${(watch.peakRssGrowth / MB).toFixed(1)} MB, after GC ${(afterGc / MB).toFixed(1)} MB`,
    );
    expect(watch.aborted, `memory grew past 256 MB (peak ${(watch.peakGrowth / MB).toFixed(0)} MB)`).toBe(false);
    expect(ev, 'the client never failed the connection').not.toBeNull();
    expect(ev!.code).toBe(1009);
    expect(errors.map((e) => (e as { code?: string }).code)).toContain('ERR_WS_MESSAGE_TOO_BIG');
    expect((await conn.closeFrame()).code).toBe(1009);
    expect(watch.peakGrowth).toBeLessThan(64 * MB);
    expect(afterGc).toBeLessThan(16 * MB);
  }, 60_000);

  it('still takes a message of the most frames allowed, and fails one frame more with 1009', async () => {
    const maxPayload = 64 * 1024; // 1024 frames allowed (the floor)
    const frames = maxFramesPerMessage(maxPayload);
    expect(frames).toBe(1024);
    for (const n of [frames, frames + 1]) {
      const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
        perMessageDeflate: false,
        keepaliveMs: 0,
        closeTimeoutMs: 2000,
        maxPayload,
      });
      client.on('error', () => {});
      const got: Buffer[] = [];
      client.on('message', (d) => got.push(d as Buffer));
      const conn = await server.next();
      await client.opened();
      const body = oneByteFrames(n);
      body[(n - 1) * 3] = n === 1 ? 0x82 : 0x80; // FIN on the last frame
      await conn.send(body);
      if (n === frames) {
        await conn.send(serverFrame(8, Buffer.from([0x03, 0xe8])));
        conn.socket.end();
        const ev = await client.closed();
        expect(ev.code).toBe(1000);
        expect(got).toHaveLength(1);
        expect(got[0]).toEqual(Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff)));
      } else {
        expect((await conn.closeFrame()).code).toBe(1009);
        conn.socket.end();
        expect((await client.closed()).code).toBe(1009);
        expect(got).toHaveLength(0);
      }
    }
  });
});
