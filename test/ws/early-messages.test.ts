/**
 * Issue 16 item 4: `for await (const msg of ws)` used to see only messages that arrived after the
 * loop started; one sent with the handshake answer, or while the app awaited something else after
 * 'open', was lost to it. The first loop now gets every message since 'open' (kept within
 * maxQueuedBytes). A client that only listens to 'message' is never paused by that buffer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import net from 'node:net';
import { WebSocketClient, type WsMessage } from '../../src/ws/index.js';
import { closeBody, okResponse, serverFrame, startRawServer, type RawServer } from './raw-server.js';

let server: RawServer;
let greeting: Buffer = Buffer.alloc(0);
beforeAll(async () => {
  // The server sends its first messages in the same write as the handshake answer.
  server = await startRawServer((key) => Buffer.concat([Buffer.from(okResponse(key)), greeting]));
});
afterAll(() => server.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(options: ConstructorParameters<typeof WebSocketClient>[1] = {}) {
  const ws = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
    perMessageDeflate: false,
    keepaliveMs: 0,
    closeTimeoutMs: 1000,
    ...options,
  });
  ws.on('error', () => {});
  return ws;
}

async function collect(ws: WebSocketClient, n: number): Promise<WsMessage[]> {
  const out: WsMessage[] = [];
  for await (const m of ws) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

describe('messages between open and the start of a for-await loop', () => {
  it('are all yielded by the first loop: with the handshake answer, and while the app awaited', async () => {
    greeting = Buffer.concat([serverFrame(1, 'welcome'), serverFrame(2, Buffer.from([1, 2, 3]))]);
    const ws = client();
    const conn = await server.next();
    await ws.opened();
    await conn.send(serverFrame(1, 'while you were busy'));
    await sleep(100); // the app does something else before its loop
    const loop = collect(ws, 4);
    await conn.send(serverFrame(1, 'after the loop started'));
    expect(await loop).toEqual([
      { data: 'welcome', isBinary: false },
      { data: Buffer.from([1, 2, 3]), isBinary: true },
      { data: 'while you were busy', isBinary: false },
      { data: 'after the loop started', isBinary: false },
    ]);
    ws.terminate();
    greeting = Buffer.alloc(0);
  });

  it('a loop started after the server closed yields what arrived, then ends', async () => {
    const ws = client();
    const conn = await server.next();
    await ws.opened();
    await conn.send(Buffer.concat([serverFrame(1, 'one'), serverFrame(1, 'two'), serverFrame(8, closeBody(1000))]));
    conn.socket.end();
    await ws.closed();
    const got: unknown[] = [];
    for await (const m of ws) got.push(m.data);
    expect(got).toEqual(['one', 'two']);
  });

  it('with no listener and no loop yet, reading pauses at maxQueuedBytes and a later loop gets every message in order', async () => {
    let socket: net.Socket | undefined;
    const ws = client({
      maxQueuedBytes: 16 * 1024,
      connect: async (t) => {
        socket = net.connect(t.port, t.host);
        await once(socket, 'connect');
        return socket;
      },
    });
    const conn = await server.next();
    await ws.opened();
    const n = 1000;
    const frames = Array.from({ length: n }, (_, i) => serverFrame(1, `${i}:`.padEnd(1024, '.')));
    const total = Buffer.concat(frames);
    void conn.send(total);
    await sleep(300);
    // Reading stopped near the bound (plus what one or two reads brought in), not at 1 MB.
    expect(socket!.bytesRead).toBeLessThan(total.length / 4);
    const got = await collect(ws, n);
    expect(got.map((m) => String(m.data).split(':')[0])).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    ws.terminate();
  });

  it("a client that only listens to 'message' is never paused by the buffer kept for a loop", async () => {
    const ws = client({ maxQueuedBytes: 16 * 1024 });
    const seen: string[] = [];
    ws.on('message', (d) => seen.push(String(d).split(':')[0]!));
    const conn = await server.next();
    await ws.opened();
    const n = 200;
    await conn.send(Buffer.concat(Array.from({ length: n }, (_, i) => serverFrame(1, `${i}:`.padEnd(1024, '.')))));
    for (let t = 0; t < 100 && seen.length < n; t++) await sleep(50);
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    ws.terminate();
  });

  it("adding a 'message' listener lets go of a client paused by the buffer kept for a loop", async () => {
    const ws = client({ maxQueuedBytes: 16 * 1024 });
    const conn = await server.next();
    await ws.opened();
    const n = 100;
    await conn.send(Buffer.concat(Array.from({ length: n }, (_, i) => serverFrame(1, `${i}:`.padEnd(1024, '.')))));
    await sleep(200);
    const seen: string[] = [];
    ws.on('message', (d) => seen.push(String(d).split(':')[0]!));
    for (let t = 0; t < 100 && seen.length === 0; t++) await sleep(50);
    expect(seen.length).toBeGreaterThan(0);
    // What was read before the listener came is not emitted again; the rest arrives in order.
    const first = Number(seen[0]);
    for (let t = 0; t < 100 && seen.length < n - first; t++) await sleep(50);
    expect(seen).toEqual(Array.from({ length: n - first }, (_, i) => String(first + i)));
    ws.terminate();
  });
});
