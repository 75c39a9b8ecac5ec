/**
 * What goes into the opening handshake request: refusals of unsendable options (with their codes,
 * before any connection), and what a real HTTP parser (Node's, behind the `ws` server) reads from
 * a request built from awkward but valid input.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Air780Error } from '../../src/at/errors.js';
import { redactHeaders } from '../../src/ws/headers.js';
import { WebSocketClient, type WebSocketClientOptions } from '../../src/ws/index.js';
import { startWsEcho } from './peers.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('WebSocketClient refuses what cannot go into the request head', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'origin with CRLF',
      { origin: 'http://a\r\nX-Injected: 1' },
      'ERR_WS_BAD_HEADER',
      /origin option contains the control character "\\r"/,
    ],
    ['origin with a bare LF', { origin: 'http://a\nb' }, 'ERR_WS_BAD_HEADER', /origin option/],
    ['origin with NUL', { origin: 'http://a\0' }, 'ERR_WS_BAD_HEADER', /origin option/],
    ['origin that is not a string', { origin: 42 }, 'ERR_WS_BAD_HEADER', /must be a string, not number 42/],
    [
      'subprotocol with a space',
      { protocols: ['bad proto'] },
      'ERR_WS_BAD_HEADER',
      /Subprotocol "bad proto" is not an HTTP token/,
    ],
    ['subprotocol with CRLF', { protocols: 'x\r\ny' }, 'ERR_WS_BAD_HEADER', /not an HTTP token/],
    ['empty subprotocol', { protocols: [''] }, 'ERR_WS_BAD_HEADER', /not an HTTP token/],
    ['subprotocol with a comma', { protocols: ['a,b'] }, 'ERR_WS_BAD_HEADER', /no spaces or commas/],
    ['duplicate subprotocol', { protocols: ['chat', 'v2', 'chat'] }, 'ERR_WS_BAD_HEADER', /"chat" is offered twice/],
    [
      'subprotocol that is not a string',
      { protocols: ['chat', 7] },
      'ERR_WS_BAD_HEADER',
      /must be a string, not number 7/,
    ],
    [
      'protocols neither string nor array',
      { protocols: { chat: true } },
      'ERR_WS_BAD_HEADER',
      /string or an array of strings/,
    ],
    [
      'window bits as an injecting string',
      { perMessageDeflate: { clientMaxWindowBits: '15\r\nX-Injected: 1' } },
      'ERR_WS_BAD_OPTION',
      /clientMaxWindowBits must be an integer from 9 to 15/,
    ],
    [
      'window bits out of range',
      { perMessageDeflate: { serverMaxWindowBits: 16 } },
      'ERR_WS_BAD_OPTION',
      /serverMaxWindowBits/,
    ],
    [
      'deflate level out of range',
      { perMessageDeflate: { level: 10 } },
      'ERR_WS_BAD_OPTION',
      /level must be an integer from -1 to 9/,
    ],
    [
      'perMessageDeflate as a string',
      { perMessageDeflate: 'permessage-deflate' },
      'ERR_WS_BAD_OPTION',
      /true, false or an options object/,
    ],
    [
      'header name that is not a string',
      { headers: [[undefined, 'v']] },
      'ERR_WS_BAD_HEADER',
      /header name must be a string, not undefined/,
    ],
    [
      'header value that is an object',
      { headers: { 'X-A': {} } },
      'ERR_WS_BAD_HEADER',
      /"X-A" must be a string or a finite number/,
    ],
    [
      'headers as a Map',
      { headers: new Map([['X-A', 'v']]) },
      'ERR_WS_BAD_HEADER',
      /object \{ Name: "value" \} or an array/,
    ],
  ];
  for (const [what, options, code, message] of cases) {
    it(`${what}: ${code} from the constructor, nothing connected`, () => {
      let connects = 0;
      const opts = {
        ...options,
        connect: async () => {
          connects++;
          throw new Error('must not connect');
        },
      } as unknown as WebSocketClientOptions;
      let err: unknown;
      try {
        new WebSocketClient('ws://example.com/', opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Air780Error);
      expect((err as Air780Error).code).toBe(code);
      expect((err as Error).message).toMatch(message);
      expect(connects).toBe(0);
    });
  }
});

describe('what a real HTTP parser reads from our request', () => {
  it('escaped CR/LF in the path and query stay escaped; HTAB and UTF-8 in Origin and user headers arrive as sent', async () => {
    const peer = await startWsEcho({ handleProtocols: (set) => (set.has('v2.json') ? 'v2.json' : false) });
    cleanup.push(() => peer.close());
    const origin = 'http://exämple.org\tx';
    const c = new WebSocketClient(`ws://127.0.0.1:${peer.port}/a%0D%0AX-Injected:%201?q=%0d%0a&r=\u00e4`, {
      origin,
      protocols: ['chat', 'v2.json'],
      headers: [
        ['X-Note', 'tab\there ünï'],
        ['X-Num', 7 as unknown as string],
      ],
      keepaliveMs: 0,
    });
    cleanup.push(() => c.terminate());
    await c.opened();
    expect(c.protocol).toBe('v2.json');
    const req = peer.requests[0]!;
    expect(req.url).toBe('/a%0D%0AX-Injected:%201?q=%0d%0a&r=%C3%A4');
    // Node reads header bytes as latin1: re-decode to compare with what we sent as UTF-8.
    const utf8 = (v: string | string[] | undefined) => Buffer.from(String(v), 'latin1').toString('utf8');
    expect(utf8(req.headers.origin)).toBe(origin);
    expect(utf8(req.headers['x-note'])).toBe('tab\there ünï');
    expect(req.headers['x-num']).toBe('7');
    expect(req.headers['sec-websocket-protocol']).toBe('chat, v2.json');
    expect(
      Object.keys(req.headers)
        .filter((n) => n.startsWith('x-'))
        .sort(),
    ).toEqual(['x-note', 'x-num']);
  });

  it('a redirect Location with CR/LF in it cannot add request lines to the next request', async () => {
    const peer = await startWsEcho();
    cleanup.push(() => peer.close());
    const redirector = http.createServer();
    redirector.on('upgrade', (_req, socket) => {
      // Percent-escaped and raw-tab variants; a raw CRLF cannot be in a header value, so the escape is the attack.
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${peer.port}/next%0d%0aX-Injected:%201?\tq=%0a\r\nContent-Length: 0\r\n\r\n`,
      );
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => redirector.close(() => r())));
    const port = (redirector.address() as AddressInfo).port;
    const c = new WebSocketClient(`ws://127.0.0.1:${port}/start`, { followRedirects: true, keepaliveMs: 0 });
    cleanup.push(() => c.terminate());
    await c.opened();
    const req = peer.requests[0]!;
    expect(req.url).toBe('/next%0d%0aX-Injected:%201?q=%0a');
    expect(req.headers['x-injected']).toBeUndefined();
  });
});

describe('redactHeaders (what a trace shows of a request head)', () => {
  it('replaces the value of every secret header, any case, and leaves the other lines byte for byte', () => {
    const head =
      'GET /a:b HTTP/1.1\r\nHost: h:80\r\nAuthorization: Basic dTpw\r\nproxy-AUTHORIZATION : x\r\nCookie: s=1\r\nSet-Cookie: t=2\r\nX-Token: t\r\nX-Note: keep\r\n\r\n';
    expect(redactHeaders(head)).toBe(
      'GET /a:b HTTP/1.1\r\nHost: h:80\r\nAuthorization: [redacted]\r\nproxy-AUTHORIZATION: [redacted]\r\nCookie: [redacted]\r\nSet-Cookie: [redacted]\r\nX-Token: [redacted]\r\nX-Note: keep\r\n\r\n',
    );
  });
});
