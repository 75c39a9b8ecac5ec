import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketClient } from '../../src/ws/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { startPythonEcho, startWsEcho } from './peers.js';
import { okResponse, serverFrame, startRawServer } from './raw-server.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function collect(c: WebSocketClient, n: number): Promise<Array<{ data: string | Buffer; isBinary: boolean }>> {
  const got: Array<{ data: string | Buffer; isBinary: boolean }> = [];
  return new Promise((resolve, reject) => {
    c.on('message', (data, isBinary) => {
      got.push({ data, isBinary });
      if (got.length === n) resolve(got);
    });
    c.once('close', (code) => reject(new Error(`closed ${code} after ${got.length} messages`)));
  });
}

describe.each(['deflate', 'none'] as const)('Python websockets 10.4 echo server (compression %s)', (compression) => {
  it('echoes text, binary, fragmented, empty and 16 MiB messages', async () => {
    const py = await startPythonEcho(compression);
    cleanup.push(() => py.close());
    const c = new WebSocketClient(`ws://127.0.0.1:${py.port}/`, { keepaliveMs: 0 });
    c.on('error', () => {});
    cleanup.push(() => c.terminate());
    await c.opened();
    expect(c.extensions).toBe(compression === 'deflate' ? 'permessage-deflate' : '');
    const big = randomBytes(16 * 1024 * 1024);
    const got = collect(c, 5);
    c.send('κόσμε');
    c.send(Buffer.from([1, 2, 3]));
    c.send('12', { fin: false });
    c.send('34', { fin: false });
    c.send('56');
    c.send('');
    c.send(big);
    const msgs = await got;
    expect(msgs.slice(0, 4)).toEqual([
      { data: 'κόσμε', isBinary: false },
      { data: Buffer.from([1, 2, 3]), isBinary: true },
      { data: '123456', isBinary: false },
      { data: '', isBinary: false },
    ]);
    expect((msgs[4]!.data as Buffer).equals(big)).toBe(true);
    const closed = c.closed();
    c.close(1000, 'done');
    expect(await closed).toMatchObject({ code: 1000, wasClean: true });
  });
});

describe('wss with a test CA', () => {
  it('connects and echoes when the CA is trusted', async () => {
    const pki = makeTestPki();
    const peer = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
    cleanup.push(() => peer.close());
    const c = new WebSocketClient(`wss://localhost:${peer.port}/secure`, { tls: { ca: pki.caCert }, keepaliveMs: 0 });
    cleanup.push(() => c.terminate());
    await c.opened();
    const got = collect(c, 1);
    c.send('over tls');
    expect((await got)[0]!.data).toBe('over tls');
  });

  it('refuses a server whose certificate is not signed by the given CA', async () => {
    const pki = makeTestPki();
    const peer = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
    cleanup.push(() => peer.close());
    const c = new WebSocketClient(`wss://localhost:${peer.port}/`, { tls: { ca: pki.otherCaCert }, keepaliveMs: 0 });
    const err = (await c.opened().catch((e: unknown) => e)) as Error & { code: string; cause: { code: string } };
    expect(err.code).toBe('ERR_WS_CONNECT');
    expect(err.cause.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
    expect(peer.requests).toHaveLength(0);
  });
});

describe('redirects', () => {
  it('follows a redirect when enabled and refuses loops after 10', async () => {
    const peer = await startWsEcho();
    cleanup.push(() => peer.close());
    const redirector = http.createServer((req, res) => {
      const target = req.url === '/loop' ? '/loop' : `ws://127.0.0.1:${peer.port}/final`;
      res.writeHead(302, { Location: target }).end();
    });
    redirector.on('upgrade', (req, socket) => {
      const target = req.url === '/loop' ? '/loop' : `ws://127.0.0.1:${peer.port}/final`;
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target}\r\nContent-Length: 0\r\n\r\n`);
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => redirector.close(() => r())));
    const port = (redirector.address() as AddressInfo).port;
    const c = new WebSocketClient(`ws://u:p@127.0.0.1:${port}/start`, { followRedirects: true, keepaliveMs: 0 });
    cleanup.push(() => c.terminate());
    await c.opened();
    expect(peer.requests[0]!.url).toBe('/final');
    // Different port = different origin: the credentials are not forwarded.
    expect(peer.requests[0]!.headers.authorization).toBeUndefined();
    const loop = new WebSocketClient(`ws://127.0.0.1:${port}/loop`, { followRedirects: true, keepaliveMs: 0 });
    expect(await loop.opened().catch((e: { code: string }) => e.code)).toBe('ERR_WS_REDIRECT');
    const no = new WebSocketClient(`ws://127.0.0.1:${port}/start`, { keepaliveMs: 0 });
    expect(await no.opened().catch((e: { statusCode: number }) => e.statusCode)).toBe(302);
  });
});

describe('handshake edge cases against a raw server', () => {
  it('keeps a frame sent in the same packet as the 101 response', async () => {
    const raw = await startRawServer((key) => Buffer.concat([Buffer.from(okResponse(key)), serverFrame(1, 'welcome')]));
    cleanup.push(() => raw.close());
    const c = new WebSocketClient(`ws://127.0.0.1:${raw.port}/`, { keepaliveMs: 0, perMessageDeflate: false });
    cleanup.push(() => c.terminate());
    const got = collect(c, 1);
    expect((await got)[0]!.data).toBe('welcome');
  });

  it('times out a server that never answers the handshake', async () => {
    const raw = await startRawServer(() => '');
    cleanup.push(() => raw.close());
    const c = new WebSocketClient(`ws://127.0.0.1:${raw.port}/`, { keepaliveMs: 0, handshakeTimeoutMs: 300 });
    expect(await c.opened().catch((e: { code: string }) => e.code)).toBe('ERR_WS_HANDSHAKE_TIMEOUT');
  });

  it('refuses an extension or subprotocol that was not offered', async () => {
    const raw = await startRawServer((key) => okResponse(key, ['Sec-WebSocket-Extensions: x-custom']));
    cleanup.push(() => raw.close());
    const c = new WebSocketClient(`ws://127.0.0.1:${raw.port}/`, { keepaliveMs: 0 });
    expect(await c.opened().catch((e: { code: string; message: string }) => e.message)).toMatch(/x-custom/);
    const raw2 = await startRawServer((key) => okResponse(key, ['Sec-WebSocket-Protocol: other']));
    cleanup.push(() => raw2.close());
    const c2 = new WebSocketClient(`ws://127.0.0.1:${raw2.port}/`, { keepaliveMs: 0, protocols: ['chat'] });
    expect(await c2.opened().catch((e: { message: string }) => e.message)).toMatch(/subprotocol "other"/);
  });
});

describe('keepalive and reconnect', () => {
  it('pings after the idle time, detects a server that stops answering, and reconnects', async () => {
    let answer = true;
    const peer = await startWsEcho({ autoPong: false } as never, undefined, (ws) => {
      ws.on('ping', (d) => {
        if (answer) ws.pong(d);
      });
    });
    cleanup.push(() => peer.close());
    const c = new WebSocketClient(`ws://127.0.0.1:${peer.port}/`, {
      keepaliveMs: 150,
      pongTimeoutMs: 300,
      reconnect: { strategy: 'exponential', initialDelayMs: 50, jitter: 0 },
    });
    cleanup.push(() => c.terminate());
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const pongs: number[] = [];
    c.on('pong', () => pongs.push(Date.now()));
    await c.opened();
    await new Promise<void>((r) => c.once('pong', () => r()));
    answer = false;
    const closed = await c.closed();
    expect(closed.code).toBe(1006);
    expect(errors.map((e) => (e as unknown as { code: string }).code)).toContain('ERR_WS_PONG_TIMEOUT');
    answer = true;
    await c.opened();
    expect(peer.requests.length).toBe(2);
  });

  it('computes fixed and exponential delays with jitter and a retry limit', async () => {
    const { reconnectDelay } = await import('../../src/ws/reconnect.js');
    expect(reconnectDelay({}, 1)).toBe(3000);
    expect(reconnectDelay({ intervalMs: 10 }, 5)).toBe(1000);
    expect(
      [1, 2, 3, 4, 10].map((a) =>
        reconnectDelay({ strategy: 'exponential', initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 }, a),
      ),
    ).toEqual([100, 200, 400, 800, 1000]);
    expect(reconnectDelay({ strategy: 'exponential', initialDelayMs: 100, jitter: 0.5 }, 1, () => 1)).toBe(50);
    expect(reconnectDelay({ maxRetries: 2 }, 3)).toBeNull();
  });
});
