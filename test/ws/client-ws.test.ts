import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { WebSocketClient } from '../../src/ws/index.js';
import { startWsEcho, type WsPeer } from './peers.js';

function nextMessage(c: WebSocketClient): Promise<{ data: string | Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    c.once('message', (data, isBinary) => resolve({ data, isBinary }));
    c.once('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

describe.each([
  ['with permessage-deflate', true],
  ['without compression', false],
])('WebSocketClient against the ws server, %s', (_label, pmd) => {
  let peer: WsPeer;
  let client: WebSocketClient;
  beforeAll(async () => {
    peer = await startWsEcho({ perMessageDeflate: pmd ? { threshold: 0 } : false, maxPayload: 64 * 1024 * 1024 });
    client = new WebSocketClient(`ws://127.0.0.1:${peer.port}/echo?x=1#frag`, {
      perMessageDeflate: pmd,
      keepaliveMs: 0,
    });
    client.on('error', () => {});
    await client.opened();
  });
  afterAll(async () => {
    client.close();
    await peer.close();
  });

  it('negotiates as expected and sends a correct request', () => {
    expect(client.extensions).toBe(pmd ? 'permessage-deflate' : '');
    const req = peer.requests[0]!;
    expect(req.url).toBe('/echo?x=1');
    expect(req.headers.host).toBe(`127.0.0.1:${peer.port}`);
    expect(req.headers['sec-websocket-version']).toBe('13');
    expect(Buffer.from(req.headers['sec-websocket-key']!, 'base64')).toHaveLength(16);
  });

  it('echoes text, binary and empty messages', async () => {
    let p = nextMessage(client);
    client.send('héllo wörld €');
    expect(await p).toEqual({ data: 'héllo wörld €', isBinary: false });
    const bin = randomBytes(300);
    p = nextMessage(client);
    client.send(bin);
    const got = await p;
    expect(got.isBinary).toBe(true);
    expect(Buffer.compare(got.data as Buffer, bin)).toBe(0);
    p = nextMessage(client);
    client.send('');
    expect(await p).toEqual({ data: '', isBinary: false });
  });

  it('sends a fragmented message that arrives whole', async () => {
    const p = nextMessage(client);
    client.send('12', { fin: false });
    client.send('34', { fin: false });
    client.send('56', { fin: true });
    expect(await p).toEqual({ data: '123456', isBinary: false });
  });

  it.each([125, 126, 65535, 65536, 1024 * 1024, 16 * 1024 * 1024])('round-trips %d random bytes', async (n) => {
    const bin = randomBytes(n);
    const p = nextMessage(client);
    await client.sendAsync(bin);
    const got = (await p).data as Buffer;
    expect(got.length).toBe(n);
    expect(got.equals(bin)).toBe(true);
  });

  it('answers pings from the server with the same payload', async () => {
    const ws = [...peer.wss.clients][0]!;
    const pong = new Promise<Buffer>((r) => ws.once('pong', r));
    ws.ping(Buffer.from('are you there'));
    expect((await pong).toString()).toBe('are you there');
  });

  it('iterates over messages', async () => {
    const it = client[Symbol.asyncIterator]();
    client.send('a');
    client.send('b');
    expect((await it.next()).value).toEqual({ data: 'a', isBinary: false });
    expect((await it.next()).value).toEqual({ data: 'b', isBinary: false });
    await it.return!();
  });
});

describe('WebSocketClient handshake details against the ws server', () => {
  it('offers subprotocols, sends Origin, user headers and URL credentials', async () => {
    const peer = await startWsEcho({ handleProtocols: (set) => (set.has('chat') ? 'chat' : false) });
    const c = new WebSocketClient(`ws://user:p%40ss@127.0.0.1:${peer.port}/`, {
      protocols: ['v2', 'chat'],
      origin: 'http://example.org',
      headers: { 'X-Token': 'abc' },
      keepaliveMs: 0,
    });
    await c.opened();
    expect(c.protocol).toBe('chat');
    const h = peer.requests[0]!.headers;
    expect(h['sec-websocket-protocol']).toBe('v2, chat');
    expect(h.origin).toBe('http://example.org');
    expect(h['x-token']).toBe('abc');
    expect(h.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    const closed = c.closed();
    c.close(1000, 'bye');
    expect(await closed).toEqual({ code: 1000, reason: 'bye', wasClean: true });
    await peer.close();
  });

  it('reports a non-101 answer with its status and body', async () => {
    const peer = await startWsEcho({ verifyClient: (_info, cb) => cb(false, 403, 'Forbidden here') });
    const c = new WebSocketClient(`ws://127.0.0.1:${peer.port}/`, { keepaliveMs: 0 });
    const err = await c.opened().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WS_HANDSHAKE', statusCode: 403 });
    expect((err as { body: Buffer }).body.toString()).toContain('Forbidden here');
    await peer.close();
  });
});

describe('ping() refusals', () => {
  it('not open: throws ERR_WS_NOT_OPEN without a callback, hands it to the callback (never synchronously) with one', async () => {
    const client = new WebSocketClient('ws://127.0.0.1:9/', { autoConnect: false });
    expect(() => client.ping('x')).toThrow(expect.objectContaining({ code: 'ERR_WS_NOT_OPEN' }));
    let sync = true;
    const err = await new Promise<Error | undefined>((resolve) => {
      client.ping('x', resolve);
      sync = false;
    });
    expect(sync).toBe(false);
    expect(err).toMatchObject({ code: 'ERR_WS_NOT_OPEN' });
  });

  it('a payload over 125 bytes is a RangeError before anything else', () => {
    const client = new WebSocketClient('ws://127.0.0.1:9/', { autoConnect: false });
    expect(() => client.ping(Buffer.alloc(126), () => {})).toThrow(RangeError);
    expect(() => client.ping(Buffer.alloc(125), () => {})).not.toThrow();
  });
});
