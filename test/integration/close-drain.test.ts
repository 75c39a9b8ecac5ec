/**
 * RFC 6455 §5.5.1 / §7.1.2: after sending its close frame an endpoint sends no more data, but it
 * keeps processing what arrives until the peer's close frame. Messages the server sent before its
 * close frame are delivered, never dropped.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { openerConnect, websocket, WebSocketClient } from '../../src/ws/index.js';
import { closeBody, serverFrame, startRawServer, type RawServer } from '../ws/raw-server.js';
import { defer, openModem, recordLuat, sha256, startWsEcho, type WsPeer } from './helpers.js';

let raw: RawServer;
let burst: WsPeer;
const BURST = 50;
beforeAll(async () => {
  raw = await startRawServer();
  // On "burst": 50 messages in a row (the last one 200 kB), as fast as the socket takes them.
  burst = await startWsEcho({}, undefined, (ws: WebSocket) => {
    ws.on('message', (d: Buffer) => {
      if (d.toString() !== 'burst') return;
      for (let i = 0; i < BURST - 1; i++) ws.send(`m${i}`);
      ws.send(Buffer.alloc(200_000, 0x5a));
    });
  });
});
afterAll(async () => {
  await Promise.all([raw.close(), burst.close()]);
});

describe('data after our close frame (raw server)', () => {
  it('delivers text, binary and a fragmented message sent before the server close, and sends nothing but the close', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${raw.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      closeTimeoutMs: 5000,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const got: Array<[string | Buffer, boolean]> = [];
    client.on('message', (d, bin) => got.push([d, bin]));
    const conn = await raw.next();
    await client.opened();
    const closed = client.closed();
    client.close(1000, 'bye');
    expect(await conn.closeFrame()).toEqual({ code: 1000, reason: 'bye' });
    expect(client.state).toBe('closing');
    // Sending is refused now: the close frame was the client's last frame.
    expect(() => client.send('no')).toThrow(expect.objectContaining({ code: 'ERR_WS_NOT_OPEN' }));
    const bin = randomBytes(70_000);
    await conn.send(
      Buffer.concat([
        serverFrame(1, 'in flight'),
        serverFrame(2, bin),
        serverFrame(1, 'frag', { fin: false }),
        serverFrame(9, 'ping in between'),
        serverFrame(0, 'mented', { fin: true }),
        serverFrame(8, closeBody(1000, 'bye')),
        serverFrame(1, 'after the server close'),
      ]),
      997,
    );
    await conn.ended();
    conn.socket.end();
    expect(await closed).toEqual({ code: 1000, reason: 'bye', wasClean: true });
    expect(got.map(([d, b]) => [typeof d === 'string' ? d : sha256(d), b])).toEqual([
      ['in flight', false],
      [sha256(bin), true],
      ['fragmented', false],
    ]);
    // Only the close frame went out after close(): no data, no echo, no pong.
    expect(conn.frames.map((f) => f.opcode)).toEqual([8]);
    expect(errors).toEqual([]);
  });

  it('frames mode: every fragment sent before the server close is delivered', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${raw.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      frames: true,
    });
    const frags: Array<[string, boolean, number]> = [];
    client.on('fragment', (d, fin, op) => frags.push([d.toString(), fin, op]));
    const conn = await raw.next();
    await client.opened();
    const closed = client.closed();
    client.close();
    await conn.closeFrame();
    await conn.send(
      Buffer.concat([serverFrame(1, 'a', { fin: false }), serverFrame(0, 'b'), serverFrame(8, closeBody(1000))]),
    );
    await conn.ended();
    conn.socket.end();
    expect((await closed).wasClean).toBe(true);
    expect(frags).toEqual([
      ['a', false, 1],
      ['b', true, 0],
    ]);
  });
});

describe('through the module', () => {
  it('WebSocketClient: close() right after the first of a burst still yields the whole burst', async () => {
    const { modem } = await openModem({ rxMode: 'push' });
    const client = new WebSocketClient(`ws://127.0.0.1:${burst.port}/`, {
      connect: openerConnect(modem),
      keepaliveMs: 0,
    });
    defer(() => client.terminate());
    const got: Array<string | Buffer> = [];
    client.on('message', (d) => {
      got.push(d);
      if (got.length === 1) client.close(1000);
    });
    await client.opened();
    const closed = client.closed();
    client.send('burst');
    expect((await closed).code).toBe(1000);
    expect(got).toHaveLength(BURST);
    expect(got.slice(0, 3)).toEqual(['m0', 'm1', 'm2']);
    expect((got.at(-1) as Buffer).length).toBe(200_000);
  });

  it('LuatOS: disconnect() during a burst: every recv arrives before disconnect', async () => {
    const { modem } = await openModem({ rxMode: 'pull' });
    const wsc = websocket.create(modem, `ws://127.0.0.1:${burst.port}/`, 60)!;
    defer(() => wsc.close());
    let asked = false;
    const rec = recordLuat(wsc, (event) => {
      if (event === 'recv' && !asked) {
        asked = true;
        wsc.disconnect();
      }
    });
    wsc.connect();
    await rec.waitFor('conack');
    wsc.send('burst');
    await rec.waitFor('disconnect');
    const names = rec.names();
    expect(names.filter((n) => n === 'recv')).toHaveLength(BURST);
    expect(names.at(-1)).toBe('disconnect');
    expect(names).not.toContain('error');
  });
});
