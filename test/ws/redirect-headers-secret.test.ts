/**
 * Issue 17 item 8: credential headers are not a fixed list. On a redirect to another origin every
 * header the user set stays behind unless listed in `redirectHeaders`; in traces, header values
 * are redacted by name pattern (X-Token, Access-Token, X-Access-Key, …) and by value pattern
 * (an auth scheme, a JWT, a long opaque key) whatever the header is called. Crafted servers on
 * 127.0.0.1 redirect and record what reached them; the trace is the real debug output.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WebSocketClient, type WebSocketClientOptions } from '../../src/ws/index.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Hop {
  port: number;
  requests: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
  redirects: Map<string, string>;
}

/** Upgrades every path but those in `redirects`, which it answers with 302 to their Location. */
async function startHop(): Promise<Hop> {
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer();
  const hop: Hop = { port: 0, requests: [], redirects: new Map() };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    hop.requests.push({ url: req.url ?? '', headers: req.headers });
    socket.on('error', () => {});
    const loc = hop.redirects.get(req.url ?? '');
    if (loc) return void socket.end(`HTTP/1.1 302 Found\r\nLocation: ${loc}\r\nContent-Length: 0\r\n\r\n`);
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hop.port = (server.address() as AddressInfo).port;
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return hop;
}

/** Headers whose names are on no fixed list (the examples), one plain, one opted in. */
const USER_HEADERS = {
  'X-Token': 'xtoken-9f2c41d7',
  Token: 'token-5b7e02aa',
  'X-Api-Token': 'apitoken-31c8e6f0',
  'Access-Token': 'accesstoken-e4a9b2c1',
  'X-Access-Key': 'accesskey-7d3f8a90',
  Authorization: 'Bearer bearer-2c6d9e41',
  'X-Plain': 'plain',
  'X-Request-Id': 'req-1',
};
const USER_NAMES = Object.keys(USER_HEADERS).map((n) => n.toLowerCase());

async function open(url: string, extra: WebSocketClientOptions = {}): Promise<void> {
  const c = new WebSocketClient(url, { followRedirects: true, keepaliveMs: 0, headers: USER_HEADERS, ...extra });
  cleanup.push(() => c.terminate());
  await c.opened();
}

function userHeadersIn(h: http.IncomingHttpHeaders): string[] {
  return USER_NAMES.filter((n) => h[n] !== undefined);
}

describe('a redirect to another origin drops every header the user set', () => {
  it('to another port: none of them arrive, whatever their names', async () => {
    const a = await startHop();
    const b = await startHop();
    a.redirects.set('/start', `ws://127.0.0.1:${b.port}/final`);
    await open(`ws://127.0.0.1:${a.port}/start`);
    expect(userHeadersIn(a.requests[0]!.headers)).toEqual(USER_NAMES);
    expect(b.requests).toHaveLength(1);
    expect(userHeadersIn(b.requests[0]!.headers)).toEqual([]);
  });

  it('redirectHeaders opts in per header (any case); the rest stay behind', async () => {
    const a = await startHop();
    const b = await startHop();
    a.redirects.set('/start', `ws://localhost:${b.port}/final`);
    await open(`ws://127.0.0.1:${a.port}/start`, { redirectHeaders: ['x-request-id', 'X-PLAIN'] });
    expect(userHeadersIn(b.requests[0]!.headers)).toEqual(['x-plain', 'x-request-id']);
    expect(b.requests[0]!.headers['x-request-id']).toBe('req-1');
  });

  it('on the same origin every header goes on', async () => {
    const a = await startHop();
    a.redirects.set('/start', '/final');
    await open(`ws://127.0.0.1:${a.port}/start`);
    expect(a.requests.map((r) => r.url)).toEqual(['/start', '/final']);
    expect(userHeadersIn(a.requests[1]!.headers)).toEqual(USER_NAMES);
  });

  it('a redirectHeaders that is not a list of header names is refused by the constructor', () => {
    for (const bad of ['X-Request-Id', [1], ['bad name'], {}]) {
      expect(
        () => new WebSocketClient('ws://127.0.0.1:1/', { autoConnect: false, redirectHeaders: bad as string[] }),
      ).toThrow(expect.objectContaining({ code: 'ERR_WS_BAD_OPTION' }));
    }
  });
});

describe('traces redact header values by name pattern and by value pattern', () => {
  it('the request head in the trace shows no credential, whatever the header is called', async () => {
    const lines: string[] = [];
    const orig = createDebug.log;
    createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
    cleanup.push(() => {
      createDebug.log = orig;
    });
    const byValue = {
      'X-Upstream': 'Bearer upstreambearer77',
      'X-Forward-Auth-Blob': 'Basic dXNlcjpwYXNzd29yZA==',
      'X-Blob': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
      'X-Opaque': '9f86d081884c7d659a2feaa0c55ad015',
      'X-Device': 'dev 123e4567-e89b-12d3-a456-426614174000',
    };
    const a = await startHop();
    await open(`ws://127.0.0.1:${a.port}/t`, {
      trace: true,
      headers: { ...USER_HEADERS, ...byValue, 'X-Client': 'demo-app/1.2' },
    });
    // The server got them all: the redaction is the trace's alone.
    expect(a.requests[0]!.headers['x-opaque']).toBe(byValue['X-Opaque']);
    const text = lines.join('\n');
    expect(text).toContain('X-Client: demo-app/1.2');
    expect(text).toContain('X-Plain: plain');
    for (const [name, value] of Object.entries({ ...USER_HEADERS, ...byValue })) {
      if (name === 'X-Plain' || name === 'X-Request-Id') continue;
      expect(text, name).toContain(`${name}: [redacted]`);
      expect(text).not.toContain(value.split(' ').at(-1)!);
    }
    // Handshake headers stay readable.
    expect(text).toMatch(/Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==/);
  });
});
