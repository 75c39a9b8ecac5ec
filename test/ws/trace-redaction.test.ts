/**
 * What a trace shows: credential headers (Authorization, Cookie, API-key headers, …) as
 * `[redacted]`, and the query values of the request line and of every URL as `***`. Checked on the
 * real debug output (createDebug.log captured).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, WebSocketClient } from '../../src/ws/index.js';
import { redactHeaders } from '../../src/ws/headers.js';
import { redactUrl } from '../../src/ws/url.js';
import { startRawServer } from './raw-server.js';
import { startWsEcho } from './peers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Everything the debug package prints from now until the end of the test. */
function captureTrace(): { text(): string } {
  const lines: string[] = [];
  const orig = createDebug.log;
  // As debug's own log does: util.format of the already prefixed arguments.
  createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
  cleanup.push(() => {
    createDebug.log = orig;
  });
  return { text: () => lines.join('\n') };
}

const CREDENTIALS: Record<string, string> = {
  'X-Api-Key': 'v-apikey',
  'x-auth-token': 'v-authtoken',
  'Proxy-Authorization': 'v-proxy',
  'X-Access-Token': 'v-access',
  'Api-Key': 'v-api-key',
  'X-Amz-Security-Token': 'v-amz',
  'Ocp-Apim-Subscription-Key': 'v-azure',
  'X-CSRF-Token': 'v-csrf',
  Cookie: 'sid=v-cookie',
  Authorization: 'Bearer v-bearer',
};

describe('trace redaction', () => {
  it('request line query values and credential headers are redacted; the rest is shown', async () => {
    const peer = await startWsEcho();
    cleanup.push(() => peer.close());
    const trace = captureTrace();
    const c = new WebSocketClient(`ws://user:v-password@127.0.0.1:${peer.port}/p/a?token=v-query&v=2&flag#frag`, {
      trace: true,
      keepaliveMs: 0,
      headers: { ...CREDENTIALS, 'X-Request-Id': 'shown-123' },
    });
    cleanup.push(() => c.terminate());
    await c.opened();
    // The server got the real values.
    expect(peer.requests[0]!.url).toBe('/p/a?token=v-query&v=2&flag');
    expect(peer.requests[0]!.headers['x-api-key']).toBe('v-apikey');
    const text = trace.text();
    expect(text).toContain('GET /p/a?token=***&v=***&*** HTTP/1.1');
    for (const name of Object.keys(CREDENTIALS)) expect(text).toContain(`${name}: [redacted]`);
    expect(text).toContain('X-Request-Id: shown-123');
    expect(text).not.toMatch(/v-[a-z-]+/);
  });

  it('a redirect trace shows the next URL with its query values masked', async () => {
    const peer = await startWsEcho();
    cleanup.push(() => peer.close());
    const redirector = http.createServer();
    redirector.on('upgrade', (_req, socket) => {
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${peer.port}/next?sig=v-signature&exp=1\r\nContent-Length: 0\r\n\r\n`,
      );
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => redirector.close(() => r())));
    const trace = captureTrace();
    const c = new WebSocketClient(`ws://127.0.0.1:${(redirector.address() as AddressInfo).port}/start?k=v-first`, {
      trace: true,
      keepaliveMs: 0,
      followRedirects: true,
    });
    cleanup.push(() => c.terminate());
    await c.opened();
    expect(peer.requests[0]!.url).toBe('/next?sig=v-signature&exp=1');
    const text = trace.text();
    expect(text).toContain(`redirect 1 to ws://127.0.0.1:${peer.port}/next?sig=***&exp=***`);
    expect(text).toContain('GET /next?sig=***&exp=*** HTTP/1.1');
    expect(text).not.toMatch(/v-[a-z-]+/);
  });

  it('a handshake timeout error (and its trace) shows the URL without query values; client.url is unchanged', async () => {
    const raw = await startRawServer(() => '');
    cleanup.push(() => raw.close());
    const trace = captureTrace();
    const c = new WebSocketClient(`ws://127.0.0.1:${raw.port}/x?token=v-timeout`, {
      trace: true,
      keepaliveMs: 0,
      handshakeTimeoutMs: 300,
    });
    const err = (await c.opened().catch((e: Error) => e)) as Error & { code?: string };
    expect(err.code).toBe('ERR_WS_HANDSHAKE_TIMEOUT');
    expect(err.message).toContain(`ws://127.0.0.1:${raw.port}/x?token=***`);
    expect(err.message).not.toContain('v-timeout');
    expect(trace.text()).toContain('connect failed');
    expect(trace.text()).not.toContain('v-timeout');
    expect(c.url).toBe(`ws://127.0.0.1:${raw.port}/x?token=v-timeout`);
  });

  it('a URL error message masks query values and the password', () => {
    expect(() => new WebSocketClient('ftp://u:v-pass@h/p?token=v-url')).toThrow(
      expect.objectContaining({ code: 'ERR_WS_URL', message: expect.not.stringMatching(/v-pass|v-url/) }),
    );
    expect(() => new WebSocketClient('ftp://u:v-pass@h/p?token=v-url')).toThrow(/ftp:\/\/u:\*\*\*@h\/p\?token=\*\*\*/);
  });

  it('LuatOS debug(true): string-form API-key headers are redacted too', async () => {
    const peer = await startWsEcho();
    cleanup.push(() => peer.close());
    const trace = captureTrace();
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/luat?apikey=v-luat`)!;
    cleanup.push(() => wsc.close());
    expect(wsc.headers('X-Api-Key: v-key\r\nX-Auth-Token: v-tok\r\nX-Device: dev-7\r\n')).toBe(true);
    wsc.debug(true);
    cleanup.push(() => wsc.debug(false));
    let ready!: () => void;
    const conack = new Promise<void>((r) => (ready = r));
    wsc.on((_c, event) => event === 'conack' && ready());
    wsc.connect();
    await conack;
    const text = trace.text();
    expect(text).toContain('GET /luat?apikey=*** HTTP/1.1');
    expect(text).toContain('X-Api-Key: [redacted]');
    expect(text).toContain('X-Auth-Token: [redacted]');
    expect(text).toContain('X-Device: dev-7');
    expect(text).not.toMatch(/v-[a-z]+/);
  });
});

describe('redactUrl / redactHeaders', () => {
  it.each([
    ['/p', '/p'],
    ['/p?', '/p?'],
    ['/p?a=1', '/p?a=***'],
    ['/p?a=1&b=&c', '/p?a=***&b=***&***'],
    ['/p?a=1&&b=2', '/p?a=***&&b=***'],
    ['/p?x=a=b', '/p?x=***'],
    ['ws://h:1/p?t=1#frag', 'ws://h:1/p?t=***'],
    ['wss://u:***@h/?token=abc', 'wss://u:***@h/?token=***'],
  ])('%s → %s', (input, out) => {
    expect(redactUrl(input)).toBe(out);
  });

  it('only the request line of a head is treated as a URL', () => {
    const head = 'GET /p?token=1 HTTP/1.1\r\nHost: h\r\nX-Note: a?b=c\r\nX-Api-Key: k\r\n\r\n';
    expect(redactHeaders(head)).toBe(
      'GET /p?token=*** HTTP/1.1\r\nHost: h\r\nX-Note: a?b=c\r\nX-Api-Key: [redacted]\r\n\r\n',
    );
  });
});
