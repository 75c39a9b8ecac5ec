import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { WebSocketClient } from '../../src/ws/index.js';
import { okResponse, serverFrame, startRawServer, type RawServer } from './raw-server.js';

/** Compresses like a permessage-deflate sender: raw deflate, sync flush, trailer removed. */
function pmd(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

let server: RawServer;
let lastRequest = '';
beforeAll(async () => {
  server = await startRawServer((key, req) => {
    lastRequest = req;
    return okResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover']);
  });
});
afterAll(() => server.close());

async function session(maxPayload = 1 << 20) {
  const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
    keepaliveMs: 0,
    maxPayload,
    closeTimeoutMs: 1000,
  });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  const messages: Array<string | Buffer> = [];
  const waiters: Array<() => void> = [];
  client.on('message', (d) => {
    messages.push(d);
    for (const w of waiters.splice(0)) w();
  });
  /** Resolves once `n` messages arrived (inflation is asynchronous: no fixed sleep). */
  const received = async (n: number) => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  const conn = await server.next();
  await client.opened();
  return { client, conn, errors, messages, received, closed: client.closed() };
}

describe('permessage-deflate against a raw server', () => {
  it('offers the extension with client_max_window_bits and inflates compressed, fragmented messages', async () => {
    const s = await session();
    expect(lastRequest).toMatch(/^Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits$/m);
    const text = 'compressible '.repeat(100);
    await s.conn.send(serverFrame(1, pmd(Buffer.from(text)), { rsv: 4 }));
    const c = pmd(Buffer.from('fragmented compressed'));
    await s.conn.send(
      Buffer.concat([
        serverFrame(1, c.subarray(0, 5), { rsv: 4, fin: false }),
        serverFrame(9, 'x'),
        serverFrame(0, c.subarray(5)),
      ]),
      3,
    );
    await s.conn.frame(0); // the pong
    await s.received(2);
    expect(s.messages).toEqual([text, 'fragmented compressed']);
    // Our own messages are compressed (RSV1) and inflate back.
    s.client.send('hello '.repeat(50));
    const f = await s.conn.frame(1);
    expect(f.rsv).toBe(4);
    expect(
      zlib
        .inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
        })
        .toString(),
    ).toBe('hello '.repeat(50));
    s.client.terminate();
  });

  it('fails invalid UTF-8 inside a compressed message with 1007', async () => {
    const s = await session();
    await s.conn.send(
      serverFrame(1, pmd(Buffer.concat([Buffer.from('ok'), Buffer.from([0xed, 0xa0, 0x80])])), { rsv: 4 }),
    );
    expect((await s.conn.closeFrame()).code).toBe(1007);
    s.conn.socket.end();
    expect((await s.closed).code).toBe(1007);
  });

  it('bounds inflation: a small bomb over maxPayload fails with 1009', async () => {
    const s = await session(100_000);
    const bomb = pmd(Buffer.alloc(5_000_000));
    expect(bomb.length).toBeLessThan(10_000);
    await s.conn.send(serverFrame(2, bomb, { rsv: 4 }));
    expect((await s.conn.closeFrame()).code).toBe(1009);
    s.conn.socket.end();
    expect((await s.closed).code).toBe(1009);
    expect(s.messages).toHaveLength(0);
  });

  it('fails corrupt compressed data with 1007', async () => {
    const s = await session();
    await s.conn.send(serverFrame(2, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 }));
    expect((await s.conn.closeFrame()).code).toBe(1007);
    s.client.terminate();
  });
});
