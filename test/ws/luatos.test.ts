import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { websocket, type LuatWebSocket, type LuatWsEvent } from '../../src/ws/index.js';
import { closedPort } from '../helpers/servers.js';
import { startWsEcho, type WsPeer } from './peers.js';

interface Rec {
  event: LuatWsEvent;
  data: unknown;
  payload: unknown;
  ready: boolean;
}

function record(wsc: LuatWebSocket): {
  events: Rec[];
  waitFor(event: LuatWsEvent, count?: number, ms?: number): Promise<Rec[]>;
} {
  const events: Rec[] = [];
  let wake: (() => void) | null = null;
  wsc.on((client, event, data, payload) => {
    expect(client).toBe(wsc);
    events.push({ event, data, payload, ready: client.ready() });
    wake?.();
  });
  return {
    events,
    async waitFor(event, count = 1, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (events.filter((e) => e.event === event).length < count) {
        if (Date.now() > deadline)
          throw new Error(`no ${count}× ${event}; got ${events.map((e) => e.event).join(',')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return events.filter((e) => e.event === event);
    },
  };
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function echo(): Promise<WsPeer> {
  const p = await startWsEcho();
  cleanup.push(() => p.close());
  return p;
}

describe('websocket.create', () => {
  it('returns null (the firmware nil) for unusable URLs and adapters', () => {
    expect(websocket.create(null, 'http://example.com/')).toBeNull();
    expect(websocket.create(null, 'not a url')).toBeNull();
    expect(websocket.create(null, 'ws://')).toBeNull();
    expect(websocket.create({} as never, 'ws://example.com/')).toBeNull();
    expect(websocket.create(null, undefined as unknown as string)).toBeNull();
    const ok = websocket.create(null, 'ws://[::1]:8080/x?y=1', 30, false);
    expect(ok).not.toBeNull();
    ok!.close();
  });

  it('does not connect before connect(): send() is false, ready() false', async () => {
    const peer = await echo();
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/`)!;
    cleanup.push(() => wsc.close());
    expect(wsc.ready()).toBe(false);
    expect(wsc.send('x')).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.requests).toHaveLength(0);
  });

  it('conack, text/binary recv, sent, then the docs fragmented send arrives as one message', async () => {
    const peer = await echo();
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/ws/echo`, 60)!;
    cleanup.push(() => wsc.close());
    const r = record(wsc);
    expect(wsc.connect()).toBe(true);
    expect(wsc.connect()).toBe(false); // already connecting
    const [conack] = await r.waitFor('conack');
    expect(conack!.ready).toBe(true);
    expect(wsc.ready()).toBe(true);
    expect(wsc.send(JSON.stringify({ action: 'echo' }))).toBe(true);
    const [text] = await r.waitFor('recv');
    expect(text!.data).toBe('{"action":"echo"}');
    expect(text!.payload).toEqual({ fin: 1, opcode: 1 });
    await r.waitFor('sent');
    expect(wsc.send(Buffer.from([0, 1, 2, 255]), 1, 1)).toBe(true);
    const recvs = await r.waitFor('recv', 2);
    expect(Buffer.isBuffer(recvs[1]!.data)).toBe(true);
    expect([...(recvs[1]!.data as Buffer)]).toEqual([0, 1, 2, 255]);
    expect(recvs[1]!.payload).toEqual({ fin: 1, opcode: 2 });
    // The server sees one message '123456' (fin 0, 0, 1).
    const serverGot = new Promise<string>((res) => [...peer.wss.clients][0]!.once('message', (d) => res(String(d))));
    expect(wsc.send('12', 0)).toBe(true);
    expect(wsc.send('34', 0)).toBe(true);
    expect(wsc.send('56', 1)).toBe(true);
    expect(await serverGot).toBe('123456');
    const all = await r.waitFor('recv', 3);
    expect(all[2]!.data).toBe('123456');
    expect((await r.waitFor('sent', 5)).length).toBe(5);
  });

  it('frames mode delivers recv per frame like the firmware', async () => {
    const peer = await startWsEcho({}, undefined, (ws) => {
      ws.send('ab', { fin: false });
      ws.send('cd', { fin: true });
    });
    cleanup.push(() => peer.close());
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/`, { frames: true })!;
    cleanup.push(() => wsc.close());
    const r = record(wsc);
    wsc.connect();
    const recvs = await r.waitFor('recv', 2);
    expect(recvs.map((e) => [String(e.data), e.payload])).toEqual([
      ['ab', { fin: 0, opcode: 1 }],
      ['cd', { fin: 1, opcode: 0 }],
    ]);
  });

  it('error then disconnect when the connection fails; reconnects after the interval with conack again', async () => {
    // A server that first refuses (closes the socket at once), then lets the ws server answer.
    const peer = await echo();
    let refused = 0;
    const front = net.createServer((s) => {
      if (refused++ === 0) return s.destroy();
      const up = net.connect(peer.port, '127.0.0.1');
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => front.close(() => r())));
    const port = (front.address() as net.AddressInfo).port;
    const wsc = websocket.create('host', `ws://127.0.0.1:${port}/`)!;
    cleanup.push(() => wsc.close());
    const r = record(wsc);
    wsc.autoreconn(true, 10); // clamped to 1000 ms
    const t0 = Date.now();
    wsc.connect();
    await r.waitFor('conack', 1, 15_000);
    const order = r.events.map((e) => e.event);
    expect(order).toEqual(['error', 'disconnect', 'conack']);
    expect(r.events[0]!.data).toBe('rx'); // handshake answer never came: a receive-side failure
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    // Server drops the link without a close frame: error("connect"), disconnect, then conack again after the interval.
    [...peer.wss.clients][0]!.terminate();
    await r.waitFor('conack', 2, 15_000);
    expect(r.events.map((e) => e.event).slice(3)).toEqual(['error', 'disconnect', 'conack']);
    expect(r.events[3]!.data).toBe('connect');
    expect(r.events[3]!.payload).toMatchObject({ code: 'ERR_WS_CLOSED' });
  });

  it('a refused connection gives error("connect") then disconnect, and connect() can be called again', async () => {
    const port = await closedPort();
    const wsc = websocket.create('host', `ws://127.0.0.1:${port}/`)!;
    cleanup.push(() => wsc.close());
    const r = record(wsc);
    expect(wsc.connect()).toBe(true);
    await r.waitFor('disconnect');
    expect(r.events.map((e) => [e.event, e.event === 'error' ? e.data : undefined])).toEqual([
      ['error', 'connect'],
      ['disconnect', undefined],
    ]);
    expect((r.events[0]!.payload as { code: string }).code).toBe('ERR_WS_CONNECT');
    expect(wsc.connect()).toBe(true);
    await r.waitFor('disconnect', 2);
  });

  it('close() sends a close frame and no event follows; disconnect() keeps the client usable', async () => {
    const peer = await echo();
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/`)!;
    const r = record(wsc);
    wsc.autoreconn(true, 1000);
    wsc.connect();
    await r.waitFor('conack');
    const server = [...peer.wss.clients][0]!;
    const code = new Promise<number>((res) => server.once('close', (c) => res(c)));
    wsc.disconnect();
    expect(await code).toBe(1000);
    await r.waitFor('disconnect');
    expect(wsc.ready()).toBe(false);
    // No auto-reconnect after an explicit disconnect.
    await new Promise((res) => setTimeout(res, 1300));
    expect(r.events.filter((e) => e.event === 'conack')).toHaveLength(1);
    expect(wsc.connect()).toBe(true);
    await r.waitFor('conack', 2);
    const server2 = [...peer.wss.clients].find((c) => c !== server)!;
    const code2 = new Promise<number>((res) => server2.once('close', (c) => res(c)));
    const before = r.events.length;
    wsc.close();
    expect(await code2).toBe(1000);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.events.length).toBe(before);
    expect(wsc.ready()).toBe(false);
    expect(wsc.send('x')).toBe(false);
    expect(wsc.connect()).toBe(false);
    wsc.close(); // second close is a no-op
  });

  it('headers(): table and string forms reach the server; bad names/values are refused and keep the old ones', async () => {
    const peer = await echo();
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/`)!;
    cleanup.push(() => wsc.close());
    expect(wsc.headers({ 'X-App': 'a-b.c_d *', Authorization: 'Bearer s3cr3t' })).toBe(true);
    expect(wsc.headers({ 'Bad Name': 'x' })).toBe(false);
    expect(wsc.headers({ 'X-Evil': 'a\r\nInjected: 1' })).toBe(false);
    expect(wsc.headers({ 'X-Nul': 'a\0b' })).toBe(false);
    expect(wsc.headers({ 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAAAA==' })).toBe(false);
    expect(wsc.headers({ Host: 'evil' })).toBe(false);
    expect(wsc.headers('X-Str: 1\r\nBroken line\r\n')).toBe(false);
    expect(wsc.headers(42 as never)).toBe(false);
    const r = record(wsc);
    wsc.connect();
    await r.waitFor('conack');
    const h = peer.requests[0]!.headers;
    expect(h['x-app']).toBe('a-b.c_d *');
    expect(h.authorization).toBe('Bearer s3cr3t');
    expect(h['x-evil']).toBeUndefined();
    expect(h.host).toBe(`127.0.0.1:${peer.port}`);
    expect(wsc.headers('X-Str: one\r\nX-Other: two\r\n')).toBe(true);
    wsc.disconnect();
    await r.waitFor('disconnect');
    wsc.connect();
    await r.waitFor('conack', 2);
    expect(peer.requests[1]!.headers['x-str']).toBe('one');
    expect(peer.requests[1]!.headers['x-other']).toBe('two');
    expect(peer.requests[1]!.headers['x-app']).toBeUndefined();
  });

  it('debug(true) traces the handshake with secrets redacted', async () => {
    const peer = await echo();
    const createDebug = (await import('debug')).default;
    const lines: string[] = [];
    const origLog = createDebug.log;
    createDebug.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    cleanup.push(() => {
      createDebug.log = origLog;
    });
    const wsc = websocket.create('host', `ws://user:pw@127.0.0.1:${peer.port}/`)!;
    cleanup.push(() => wsc.close());
    wsc.headers({ Authorization: 'Bearer topsecret', Cookie: 'sid=alsosecret' });
    wsc.debug(true);
    cleanup.push(() => wsc.debug(false));
    const r = record(wsc);
    wsc.connect();
    await r.waitFor('conack');
    const text = lines.join('\n');
    expect(text).toContain('Upgrade: websocket');
    expect(text).not.toContain('topsecret');
    expect(text).not.toContain('alsosecret');
    expect(text).toMatch(/authorization: \[redacted\]/i);
  });

  it('an adapter with openStream is used for the connection', async () => {
    const peer = await echo();
    const calls: unknown[] = [];
    const adapter = {
      openStream: async (host: string, port: number, opts?: unknown) => {
        calls.push([host, port, opts]);
        const s = net.connect(peer.port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        return s;
      },
    };
    const wsc = websocket.create(adapter, 'ws://example.invalid:8080/p')!;
    cleanup.push(() => wsc.close());
    const r = record(wsc);
    wsc.connect();
    await r.waitFor('conack');
    expect(calls).toEqual([['example.invalid', 8080, { tls: false, signal: expect.any(AbortSignal) }]]);
    expect(peer.requests[0]!.headers.host).toBe('example.invalid:8080');
  });

  it('sent fires on the delivery tracker acknowledgement when the stream has one', async () => {
    const peer = await echo();
    const waits: number[] = [];
    let release: () => void = () => {};
    const adapter = {
      openStream: async () => {
        const s = net.connect(peer.port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        // A tracker whose acknowledgement the test releases by hand.
        Object.assign(s, {
          delivery: {
            get bytesQueued() {
              return s.bytesWritten;
            },
            waitAcked: (offset: number) => {
              waits.push(offset);
              return new Promise<void>((r) => (release = r));
            },
          },
        });
        return s;
      },
    };
    const wsc = websocket.create(adapter, 'ws://example.invalid/')!;
    cleanup.push(() => wsc.close());
    const r = record(wsc);
    wsc.connect();
    await r.waitFor('conack');
    expect(wsc.client.deliveryTracked).toBe(true);
    wsc.send('payload');
    await r.waitFor('recv');
    await new Promise((res) => setTimeout(res, 50));
    expect(r.events.filter((e) => e.event === 'sent')).toHaveLength(0);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(7); // the handshake and the frame are behind this offset
    release();
    await r.waitFor('sent');
  });
});
