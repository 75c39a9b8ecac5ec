/**
 * Issue 11 defect 4: `opened()` never settled once the client was closed for good; it now rejects
 * at once with ERR_WS_CLOSED. Also what the README says of opened()/closed() with reconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../src/ws/index.js';
import { closeBody, serverFrame, startRawServer, type RawServer } from './raw-server.js';

let server: RawServer;
beforeAll(async () => {
  server = await startRawServer();
});
afterAll(() => server.close());

const within = <T>(p: Promise<T>, ms = 1000) =>
  Promise.race([
    p.then(
      (v) => ({ settled: 'resolved' as const, v }),
      (e: unknown) => ({ settled: 'rejected' as const, v: e }),
    ),
    new Promise<{ settled: 'pending'; v: null }>((r) => setTimeout(() => r({ settled: 'pending', v: null }), ms)),
  ]);

function client(options: ConstructorParameters<typeof WebSocketClient>[1] = {}) {
  const ws = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
    perMessageDeflate: false,
    keepaliveMs: 0,
    closeTimeoutMs: 500,
    ...options,
  });
  ws.on('error', () => {});
  return ws;
}

describe('opened() once the client is closed for good', () => {
  it('rejects at once with ERR_WS_CLOSED after close()', async () => {
    const ws = client();
    const conn = await server.next();
    await ws.opened();
    ws.close();
    // While the closing handshake runs, and after it.
    const during = await within(ws.opened());
    expect(during.settled).toBe('rejected');
    expect(during.v).toMatchObject({ code: 'ERR_WS_CLOSED', message: expect.stringMatching(/close\(\).*connect\(\)/) });
    await conn.closeFrame();
    conn.socket.end();
    await ws.closed();
    const after = await within(ws.opened());
    expect(after.settled).toBe('rejected');
    expect(after.v).toMatchObject({ code: 'ERR_WS_CLOSED' });
  });

  it('rejects at once after the server closed and no reconnect is scheduled; connect() makes it wait again', async () => {
    const ws = client();
    const conn = await server.next();
    await ws.opened();
    await conn.send(serverFrame(8, closeBody(1001, 'bye')));
    conn.socket.end();
    expect((await ws.closed()).code).toBe(1001);
    const r = await within(ws.opened());
    expect(r.settled).toBe('rejected');
    expect(r.v).toMatchObject({ code: 'ERR_WS_CLOSED', message: expect.stringContaining('no reconnect is scheduled') });
    // A loop started now ends instead of waiting for ever.
    const loop = within(
      (async () => {
        for await (const _ of ws) void _;
        return 'ended';
      })(),
    );
    expect((await loop).settled).toBe('resolved');
    expect(ws.connect()).toBe(true);
    const again = within(ws.opened(), 5000);
    await server.next();
    expect((await again).settled).toBe('resolved');
    ws.terminate();
  });

  it('with reconnect on, opened() called in a close listener waits for the next connection', async () => {
    const ws = client({ reconnect: { strategy: 'exponential', initialDelayMs: 50, jitter: 0 } });
    const conn = await server.next();
    await ws.opened();
    const next = new Promise<Awaited<ReturnType<typeof within>>>((resolve) =>
      ws.once('close', () => resolve(within(ws.opened(), 5000))),
    );
    conn.socket.destroy();
    await server.next();
    expect((await next).settled).toBe('resolved');
    expect(ws.state).toBe('open');
    ws.terminate();
    const r = await within(ws.opened());
    expect(r.settled).toBe('rejected');
  });

  it('while idle (autoConnect: false) it waits for connect()', async () => {
    const ws = client({ autoConnect: false });
    const p = within(ws.opened(), 5000);
    await new Promise((r) => setTimeout(r, 50));
    ws.connect();
    await server.next();
    expect((await p).settled).toBe('resolved');
    ws.terminate();
  });
});
