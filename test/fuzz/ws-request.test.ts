/**
 * Header injection through the opening handshake request. Every string that reaches the request
 * head (path and query, Host, credentials, user headers, origin, subprotocols, extension offer)
 * comes from the user or, after a redirect, from the peer. Outcomes: a request whose head has
 * exactly the lines asked for, each free of control characters, or an Air780Error with a stable
 * code before anything is written.
 */
import fc from 'fast-check';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Air780Error } from '../../src/at/errors.js';
import { buildRequest, type RequestParts } from '../../src/ws/handshake.js';
import { WebSocketClient } from '../../src/ws/index.js';
import { parseWsUrl, type WsTarget } from '../../src/ws/url.js';
import { params } from './util.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Strings meant to break a header line, plus ordinary ones. */
const hostile = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'a\r\nX-Injected: 1',
      'a\nX-Injected: 1',
      'a\rX-Injected: 1',
      '\r\n\r\nGET /x HTTP/1.1',
      'a\0b',
      'a\x0bb',
      'a\x7fb',
      'a\x1bb',
      'tab\there',
      'ünïcödé',
      '\u010a\u010d',
      ' x ',
      '',
      'v',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9.-]{1,12}$/) },
);

/** Mostly `clean` values, sometimes hostile ones: enough requests get through to check their lines. */
function mostly<T>(clean: fc.Arbitrary<T>): fc.Arbitrary<T | string> {
  return fc.oneof({ weight: 6, arbitrary: clean }, { weight: 1, arbitrary: hostile });
}

/** The request's head lines (without the blank line that ends it), each checked for control bytes. */
function headLines(request: string): string[] {
  const end = request.indexOf('\r\n\r\n');
  expect(end, 'the head ends').toBeGreaterThan(0);
  expect(end + 4, 'nothing after the head').toBe(request.length);
  const lines = request.slice(0, end).split('\r\n');
  for (const l of lines) expect(l, JSON.stringify(l)).not.toMatch(CTL);
  return lines;
}

/** Checks a head's lines: a request line, then `token: value` lines, none injected. */
function checkHead(lines: string[]): Array<[string, string]> {
  expect(lines[0]).toMatch(/^GET \/[\x21-\x7e]* HTTP\/1\.1$/);
  const headers = lines.slice(1).map((l): [string, string] => {
    const colon = l.indexOf(':');
    expect(colon, JSON.stringify(l)).toBeGreaterThan(0);
    const name = l.slice(0, colon);
    expect(name).toMatch(TOKEN);
    expect(l[colon + 1]).toBe(' ');
    return [name.toLowerCase(), l.slice(colon + 2)];
  });
  expect(headers.filter(([n]) => n === 'x-injected')).toEqual([]);
  for (const h of ['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version']) {
    expect(headers.filter(([n]) => n === h).length, h).toBe(1);
  }
  return headers;
}

function expectAir780(err: unknown, codes: string[]): void {
  expect(err, `${(err as Error).name}: ${(err as Error).message}`).toBeInstanceOf(Air780Error);
  expect(codes).toContain((err as Air780Error).code);
  expect((err as Error).message.length).toBeGreaterThan(15);
}

describe('request head injection fuzz', () => {
  it('buildRequest with hostile parts (target fields included): exactly the lines asked for, or ERR_WS_URL / ERR_WS_BAD_HEADER [seed 78305]', () => {
    const base = parseWsUrl('ws://example.com:8080/chat?x=1');
    const targetArb = fc.record({
      path: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(base.path, '/', '/a%0D%0Ab?c=%00') },
        { weight: 1, arbitrary: hostile.map((s) => `/${s}`) },
        { weight: 1, arbitrary: hostile },
      ),
      hostHeader: mostly(fc.constantFrom(base.hostHeader, '[::1]:81', 'xn--bcher-kva.de')),
      authorization: mostly(fc.constantFrom(undefined, 'Basic dTpw')),
    });
    const headerArb = fc.tuple(
      mostly(fc.constantFrom('X-A', 'Accept', 'Origin', 'Authorization')),
      mostly(fc.constantFrom('v', '', 'tab\there', 'ünï', ' x ')),
    );
    const partsArb = fc.record({
      target: targetArb,
      key: mostly(fc.constant('dGhlIHNhbXBsZSBub25jZQ==')),
      origin: fc.option(mostly(fc.webUrl()), { nil: undefined }),
      protocols: fc.option(fc.uniqueArray(mostly(fc.constantFrom('chat', 'v2.json', 'a', 'b')), { maxLength: 3 }), {
        nil: undefined,
      }),
      extensions: fc.option(mostly(fc.constant('permessage-deflate; client_max_window_bits')), { nil: undefined }),
      headers: fc.uniqueArray(headerArb, { maxLength: 3, selector: ([n]) => String(n).toLowerCase() }),
    });
    fc.assert(
      fc.property(partsArb, (raw) => {
        const parts: RequestParts = { ...raw, target: { ...base, ...raw.target } as WsTarget };
        let request: string;
        try {
          request = buildRequest(parts);
        } catch (err) {
          expectAir780(err, ['ERR_WS_URL', 'ERR_WS_BAD_HEADER']);
          return;
        }
        const headers = checkHead(headLines(request));
        expect(headLines(request)[0]).toBe(`GET ${parts.target.path} HTTP/1.1`);
        // The model: the handshake's own lines, the user's, and the optional ones, nothing else.
        const user = parts.headers ?? [];
        const userHas = (n: string) => user.some(([u]) => u.toLowerCase() === n);
        const expected: Array<[string, string]> = [
          ['host', parts.target.hostHeader],
          ...user.map(([n, v]): [string, string] => [n.toLowerCase(), v]),
          ['upgrade', 'websocket'],
          ['connection', 'Upgrade'],
          ['sec-websocket-key', parts.key],
          ['sec-websocket-version', '13'],
        ];
        if (parts.target.authorization && !userHas('authorization'))
          expected.push(['authorization', parts.target.authorization]);
        if (parts.origin !== undefined && !userHas('origin')) expected.push(['origin', parts.origin]);
        if (parts.protocols?.length) expected.push(['sec-websocket-protocol', parts.protocols.join(', ')]);
        if (parts.extensions) expected.push(['sec-websocket-extensions', parts.extensions]);
        expect(headers).toEqual(expected);
      }),
      params(78305, 1500),
    );
  });

  it('WebSocketClient: a hostile origin or subprotocol never injects a request line; refusals are Air780Errors [seed 78304]', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(undefined),
          fc.webUrl(),
          fc.constantFrom('http://a\r\nX-Injected: 1', 'http://a\nb', 'http://a\0'),
        ),
        fc.oneof(fc.constant(undefined), fc.constantFrom('chat', 'bad proto', 'x\r\ny', '')),
        async (origin, protocol) => {
          const opts: Record<string, unknown> = {};
          if (origin !== undefined) opts.origin = origin;
          if (protocol !== undefined) opts.protocols = [protocol];
          const r = await capture('ws://example.com/', opts);
          if ('error' in r) {
            expectAir780(r.error, ['ERR_WS_BAD_HEADER']);
            return;
          }
          const headers = checkHead(headLines(r.request));
          if (origin !== undefined) expect(headers).toContainEqual(['origin', origin]);
          if (protocol !== undefined) expect(headers).toContainEqual(['sec-websocket-protocol', protocol]);
        },
      ),
      params(78304, 60),
    );
  });

  it('WebSocketClient with hostile URL, headers, origin, subprotocols and deflate options: a clean request on the wire, or a coded refusal from the constructor [seed 78306]', async () => {
    const urlArb = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }).map((u) => u.replace(/^https?/, 'ws')),
      },
      fc.tuple(hostile, hostile).map(([p, q]) => `ws://example.com/${p}?${q}`),
      fc.tuple(hostile, hostile).map(([u, p]) => `ws://${encodeURIComponent(u)}:${encodeURIComponent(p)}@example.com/`),
      fc.constantFrom(
        'ws://example.com/%0d%0aX-Injected:%201',
        'ws://example.com/a\r\nX-Injected: 1',
        'ws://ex\u00e4mple.com/\u00e4?\u00e4',
        'ws://[::1]:81/',
      ),
    );
    const windowBits = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 9, max: 15 }) },
      fc.integer({ min: 7, max: 16 }),
      fc.constantFrom<unknown>('15\r\nX-Injected: 1', '12', 12.5, NaN, null),
    );
    const pmdArb = fc.oneof(
      fc.boolean(),
      fc.record(
        {
          serverMaxWindowBits: windowBits,
          clientMaxWindowBits: windowBits,
          serverNoContextTakeover: fc.constantFrom<unknown>(true, false, true, 'yes'),
          level: fc.constantFrom<unknown>(-1, 9, 1, 10, '6'),
        },
        { requiredKeys: [] },
      ),
      fc.constantFrom<unknown>('permessage-deflate\r\nX-Injected: 1', null, 1, false, true),
    );
    await fc.assert(
      fc.asyncProperty(
        urlArb,
        fc.option(mostly(fc.webUrl()), { nil: undefined }),
        // Duplicates on purpose ('chat' twice is refused).
        fc.option(fc.array(mostly(fc.constantFrom('chat', 'v2', 'mqtt')), { maxLength: 3 }), { nil: undefined }),
        fc.option(
          fc.array(
            fc.tuple(mostly(fc.constantFrom('X-A', 'Cookie', 'Origin')), mostly(fc.constantFrom('v', 'a=b; c=d', ''))),
            { maxLength: 3 },
          ),
          { nil: undefined },
        ),
        pmdArb,
        async (url, origin, protocols, headers, perMessageDeflate) => {
          const opts: Record<string, unknown> = { perMessageDeflate };
          if (origin !== undefined) opts.origin = origin;
          if (protocols !== undefined) opts.protocols = protocols;
          if (headers !== undefined) opts.headers = headers;
          const r = await capture(url, opts);
          if ('error' in r) {
            expectAir780(r.error, ['ERR_WS_URL', 'ERR_WS_BAD_HEADER', 'ERR_WS_BAD_OPTION']);
            return;
          }
          const lines = headLines(r.request);
          const h = checkHead(lines);
          // What was accepted is on the wire as given: nothing dropped, nothing rewritten.
          for (const [n, v] of headers ?? []) expect(h).toContainEqual([n.toLowerCase(), v]);
          if (origin !== undefined && !(headers ?? []).some(([n]) => n.toLowerCase() === 'origin'))
            expect(h).toContainEqual(['origin', origin]);
          if (protocols?.length) expect(h).toContainEqual(['sec-websocket-protocol', protocols.join(', ')]);
          expect(h.some(([n]) => n === 'sec-websocket-extensions')).toBe(perMessageDeflate !== false);
          expect(lines[0]).toBe(`GET ${parseWsUrl(url).path} HTTP/1.1`);
        },
      ),
      params(78306, 300),
    );
  });
});

/**
 * Constructs a client over an in-memory stream and returns the bytes it wrote before the
 * handshake would need an answer (or the constructor's error). Only the request head is checked,
 * so the client is closed as soon as it is complete.
 */
async function capture(
  url: string,
  options: Record<string, unknown>,
): Promise<{ request: string } | { error: unknown }> {
  const raw: Buffer[] = [];
  let connected = false;
  const stream = new Duplex({
    read() {},
    write(c: Buffer, _e, cb) {
      raw.push(c);
      cb();
    },
  });
  const text = () => Buffer.concat(raw).toString('utf8');
  let client: WebSocketClient;
  try {
    client = new WebSocketClient(url, {
      ...options,
      connect: async () => {
        connected = true;
        return stream;
      },
      handshakeTimeoutMs: 5000,
      keepaliveMs: 0,
    } as never);
  } catch (error) {
    expect(connected, 'refused before connecting').toBe(false);
    return { error };
  }
  const errors: unknown[] = [];
  client.on('error', (e) => errors.push(e));
  for (let i = 0; i < 200 && !text().includes('\r\n\r\n') && errors.length === 0; i++)
    await new Promise((r) => setImmediate(r));
  client.close();
  expect(errors).toEqual([]);
  const request = text();
  expect(request).toContain('\r\n\r\n');
  // The checks run on the decoded text: the control bytes on the wire must be exactly its own.
  const bytes = Buffer.concat(raw);
  const wireCtl = [...bytes].filter((b) => b < 0x20 || b === 0x7f).length;
  expect(wireCtl).toBe([...request].filter((ch) => ch.charCodeAt(0) < 0x20 || ch === '\x7f').length);
  return { request };
}
