/**
 * Fuzzing what the websocket client parses or validates before any frame flows: URLs (userinfo
 * with ':' and '@', percent-encoding, IPv6, hostile hosts), user headers (CR / LF / NUL,
 * non-tokens, handshake headers) and the handshake response head (huge heads, NUL, non-ASCII,
 * random chunking). Outcomes: a clean value, or an Air780Error with a stable code — nothing else.
 */
import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Air780Error } from '../../src/at/errors.js';
import { acceptFor, buildRequest, ResponseParser, validateUpgrade } from '../../src/ws/handshake.js';
import { checkHeaders, isToken, parseHeaderString } from '../../src/ws/headers.js';
import { parseWsUrl, type WsTarget } from '../../src/ws/url.js';
import { chunk, chunkingArb, params, type Chunking } from './util.js';

/** Run `fn`; a throw must be an Air780Error with `code`. Returns the value or the error's code. */
function outcome<T>(fn: () => T, code: string): { ok: true; value: T } | { ok: false; code: string } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(Air780Error);
    expect((err as Air780Error).code).toBe(code);
    expect((err as Error).message.length).toBeGreaterThan(15);
    return { ok: false, code: (err as Air780Error).code };
  }
}

// ---- URLs --------------------------------------------------------------------------------

const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const schemeArb = fc.constantFrom('ws', 'wss', 'WS', 'wSs', 'http', 'https', 'ftp', 'file', 'javascript', '');
const hostArb = fc.oneof(
  fc.domain(),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.constantFrom(
    '',
    'localhost',
    'bücher.de',
    'xn--bcher-kva.de',
    '[::1',
    '::1',
    '1.2.3',
    '999.1.1.1',
    '0x7f.1',
    'a b',
    '%00',
    'a%2eb',
    'h\u0000',
    'h\r\nx',
    '\u3002',
    '[fe80::1%25eth0]',
    'EXAMPLE.COM.',
  ),
);
const portArb = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 0, max: 70_000 }).map((p) => `:${p}`),
  fc.constantFrom(':', ':abc', ':-1', ':080', ':65536'),
);
const pathArb = fc.oneof(
  fc.constant(''),
  fc.webPath(),
  fc.tuple(fc.webPath(), fc.webQueryParameters(), fc.webFragments()).map(([p, q, f]) => `${p}?${q}#${f}`),
  text(30).map((s) => `/${s}`),
  fc.constantFrom('/a b', '/%zz', '/%', '/\r\n/x', '/\t', '/\u0000', '?x=\r\n', '#frag', '/..%2f..', '//double'),
);
/** Userinfo written raw, so ':' and '@' and '%' reach the URL parser as typed. */
const rawUserinfo = fc.oneof(
  fc.constant(''),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.option(fc.string({ maxLength: 10 })))
    .map(([u, p]) => (p === null ? `${u}@` : `${u}:${p}@`)),
  fc.constantFrom('a:b@', ':@', 'a@b@', 'a:b:c@', 'us%40er:p%3Ass@', 'u:%@', '%41:%42@'),
);

function checkTarget(t: WsTarget, input: string): void {
  expect(typeof t.secure).toBe('boolean');
  expect(t.host.length).toBeGreaterThan(0);
  expect(t.host).not.toMatch(/[[\]\s]/);
  expect(Number.isInteger(t.port) && t.port >= 0 && t.port <= 65535).toBe(true);
  // Request target: one token, no fragment, no whitespace or control bytes (percent-encoded).
  expect(t.path).toMatch(/^\/[\x21-\x7e]*$/);
  expect(t.path).not.toContain('#');
  // eslint-disable-next-line no-control-regex
  expect(t.hostHeader).not.toMatch(/[\s\x00-\x1f\x7f]/);
  const v6 = isIP(t.host) === 6;
  expect(t.hostHeader.startsWith(v6 ? `[${t.host}]` : t.host)).toBe(true);
  const defaultPort = t.secure ? 443 : 80;
  expect(t.hostHeader.endsWith(`:${t.port}`)).toBe(t.port !== defaultPort);
  if (v6 || isIP(t.host) === 4) expect(t.servername).toBe('');
  else expect(t.servername).toBe(t.host);
  // The display form never carries the password.
  const shown = new URL(t.display);
  expect(['', '***']).toContain(shown.password);
  expect(shown.hash).toBe('');
  if (t.authorization !== undefined) expect(t.authorization).toMatch(/^Basic [A-Za-z0-9+/]*={0,2}$/);
  void input;
}

describe('parseWsUrl fuzz', () => {
  it('hostile URLs: a WsTarget with clean fields, or ERR_WS_URL [seed 78201]', () => {
    const urlArb = fc.oneof(
      fc
        .tuple(schemeArb, rawUserinfo, hostArb, portArb, pathArb)
        .map(([s, u, h, p, path]) => `${s}://${u}${h}${p}${path}`),
      fc.webUrl({ withQueryParameters: true, withFragments: true }).map((u) => u.replace(/^https?/, 'ws')),
      text(60),
    );
    fc.assert(
      fc.property(
        // Undecodable %-escapes in the userinfo included: they must be ERR_WS_URL, not URIError.
        urlArb,
        fc.boolean(),
        (url, allowHttp) => {
          const r = outcome(() => parseWsUrl(url, { allowHttp }), 'ERR_WS_URL');
          if (!r.ok) return;
          checkTarget(r.value, url);
          const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
          expect(r.value.secure).toBe(scheme === 'wss' || scheme === 'https');
          if (!allowHttp) expect(['ws', 'wss']).toContain(scheme);
        },
      ),
      params(78201, 1500),
    );
  });

  it('raw userinfo (":", "@", "%", bad escapes) gives a target or ERR_WS_URL, never URIError [seed 78301]', () => {
    const info = fc.string({
      unit: fc.constantFrom('a', ':', '%', '4', '1', 'f', 'E', '0', '@'),
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(info, (u) => {
        const r = outcome(() => parseWsUrl(`ws://${u}@example.com/`), 'ERR_WS_URL');
        if (r.ok) checkTarget(r.value, u);
      }),
      params(78301, 500),
    );
  });

  it('userinfo with any characters (":" and "@" included), percent-encoded, round-trips into Basic auth [seed 78202]', () => {
    fc.assert(
      fc.property(
        text(20),
        text(20),
        fc.boolean(),
        fc.oneof(
          fc.domain(),
          fc.ipV4(),
          fc.ipV6().map((ip) => `[${ip}]`),
        ),
        (user, pass, withPass, host) => {
          fc.pre(user !== '' || (withPass && pass !== ''));
          const info = encodeURIComponent(user) + (withPass ? `:${encodeURIComponent(pass)}` : '');
          const t = parseWsUrl(`wss://${info}@${host}/p?q=1#f`);
          checkTarget(t, host);
          expect(t.authorization).toBeDefined();
          const decoded = Buffer.from(t.authorization!.slice('Basic '.length), 'base64').toString('utf8');
          expect(decoded).toBe(`${user}:${withPass ? pass : ''}`);
          expect(t.path).toBe('/p?q=1');
          if (withPass && pass !== '') expect(t.display).not.toContain(`${encodeURIComponent(pass)}@`);
        },
      ),
      params(78202, 800),
    );
  });

  it('IPv6 literals: host without brackets, Host header with them, no SNI [seed 78203]', () => {
    fc.assert(
      fc.property(
        fc.ipV6(),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.boolean(),
        (ip, port, secure) => {
          const t = parseWsUrl(`${secure ? 'wss' : 'ws'}://[${ip}]${port === undefined ? '' : `:${port}`}/`);
          expect(isIP(t.host)).toBe(6);
          expect(t.servername).toBe('');
          expect(t.hostHeader).toBe(
            port === undefined || port === (secure ? 443 : 80) ? `[${t.host}]` : `[${t.host}]:${port}`,
          );
        },
      ),
      params(78203, 500),
    );
  });
});

// ---- headers -----------------------------------------------------------------------------

const nameArb = fc.oneof(
  fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/),
  fc.constantFrom(
    'Host',
    'host',
    'UPGRADE',
    'Connection',
    'Sec-WebSocket-Key',
    'sec-websocket-protocol',
    'Content-Length',
    'Transfer-Encoding',
    'X-A',
    'Authorization',
    'Cookie',
  ),
  fc.constantFrom('', ' X', 'X ', 'X:Y', 'X\r\nY', 'X\0', 'Ä', 'a b', '(x)', '"q"'),
  text(8),
);
const valueArb = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  text(30),
  fc.constantFrom(
    '',
    'a\r\nInjected: 1',
    'a\nb',
    'a\rb',
    'a\0b',
    '\r\n\r\nGET / HTTP/1.1',
    'ünï',
    '\t',
    ' lead and trail ',
    'x'.repeat(5000),
  ),
);

/** The request's head lines (without the empty line that ends it). */
function requestLines(req: string): string[] {
  expect(req.endsWith('\r\n\r\n')).toBe(true);
  const body = req.slice(0, -4);
  expect(body).not.toContain('\r\n\r\n');
  const lines = body.split('\r\n');
  for (const l of lines) expect(l).not.toMatch(/[\r\n\0]/);
  return lines;
}

const target = parseWsUrl('ws://example.com:8080/chat?x=1');

describe('header validation fuzz', () => {
  it('checkHeaders: accepted headers are tokens with CR/LF/NUL-free values and add exactly one request line each [seed 78204]', () => {
    const input = fc.oneof(
      fc.array(fc.tuple(nameArb, valueArb), { maxLength: 6 }),
      fc.dictionary(nameArb, fc.oneof(valueArb, fc.integer()), { maxKeys: 6 }),
    );
    fc.assert(
      fc.property(input, (h) => {
        const r = outcome(() => checkHeaders(h as Record<string, string>), 'ERR_WS_BAD_HEADER');
        if (!r.ok) return;
        for (const [n, v] of r.value) {
          expect(isToken(n)).toBe(true);
          expect(v).not.toMatch(/[\r\n\0]/);
        }
        const base = requestLines(buildRequest({ target, key: 'dGhlIHNhbXBsZSBub25jZQ==' }));
        const lines = requestLines(buildRequest({ target, key: 'dGhlIHNhbXBsZSBub25jZQ==', headers: r.value }));
        expect(lines.length).toBe(base.length + r.value.length);
        expect(lines[0]).toBe('GET /chat?x=1 HTTP/1.1');
        // Handshake headers appear once each: a user header cannot duplicate or override them.
        for (const h of ['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version']) {
          expect(lines.filter((l) => l.toLowerCase().startsWith(`${h}:`)).length).toBe(1);
        }
      }),
      params(78204, 1500),
    );
  });

  it('checkHeaders from JavaScript: names that are not strings, values that are not strings or finite numbers, malformed containers → ERR_WS_BAD_HEADER [seed 78303]', () => {
    const notString = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.integer(),
      fc.boolean(),
      fc.constant(Symbol('s')),
      fc.constant({}),
      fc.constant(['X']),
      fc.constant(() => 'X'),
    );
    const badValue = fc.oneof(
      notString.filter((v) => typeof v !== 'number'),
      fc.constantFrom(NaN, Infinity, -Infinity),
      fc.bigInt(),
    );
    const good = fc.tuple(fc.constantFrom('X-A', 'X-B', 'Accept'), fc.oneof(fc.constantFrom('v', ''), fc.integer()));
    const bad = fc.oneof(
      fc.tuple(notString, fc.constant('v')).map(([n, v]) => ({ entry: [n, v] as unknown })),
      fc.tuple(fc.constant('X-Bad'), badValue).map(([n, v]) => ({ entry: [n, v] as unknown })),
      fc.constantFrom<unknown>('X-A: v', ['X-A'], ['X-A', 'v', 'w'], [], null, 42).map((entry) => ({ entry })),
    );
    fc.assert(
      fc.property(fc.array(good, { maxLength: 3 }), bad, fc.nat(3), fc.boolean(), (goods, { entry }, at, asObject) => {
        const list: unknown[] = [...goods];
        list.splice(at % (list.length + 1), 0, entry);
        let input: unknown = list;
        if (asObject) {
          // The object form can only carry a bad value (its names are always strings).
          const e = entry as unknown[];
          if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') return;
          input = Object.fromEntries(list as Array<[string, unknown]>);
        }
        const r = outcome(() => checkHeaders(input as Record<string, string>), 'ERR_WS_BAD_HEADER');
        expect(r.ok, JSON.stringify(r)).toBe(false);
      }),
      params(78303, 300),
    );
    // Not a container of headers at all.
    for (const input of [undefined, null, 42, 'X-A: v', new Map([['X-A', 'v']]), new Date(0)]) {
      expect(outcome(() => checkHeaders(input as never), 'ERR_WS_BAD_HEADER').ok).toBe(false);
    }
    // Finite numbers are sent in decimal, in both forms.
    expect(checkHeaders([['X-N', 42]])).toEqual([['X-N', '42']]);
    expect(checkHeaders({ 'X-N': -1.5 })).toEqual([['X-N', '-1.5']]);
  });

  it('parseHeaderString (LuatOS form): pairs with clean names and values, or ERR_WS_BAD_HEADER [seed 78205]', () => {
    const lineArb = fc.oneof(
      fc.tuple(nameArb, valueArb).map(([n, v]) => `${n}: ${v}`),
      text(20),
      fc.constantFrom('', ':', 'NoColon', ': v', 'X:', 'X: a\rb', 'X:\0'),
    );
    fc.assert(
      fc.property(
        fc.array(lineArb, { maxLength: 6 }),
        fc.constantFrom('\r\n', '\n'),
        fc.boolean(),
        (lines, sep, trailing) => {
          const s = lines.join(sep) + (trailing ? sep : '');
          const r = outcome(() => parseHeaderString(s), 'ERR_WS_BAD_HEADER');
          if (!r.ok) return;
          for (const [n, v] of r.value) {
            expect(isToken(n)).toBe(true);
            expect(v).not.toMatch(/[\r\n\0]/);
            expect(v).toBe(v.trim());
          }
          // One pair per non-empty line of the string form: nothing dropped, nothing split further.
          expect(r.value.length).toBe(s.split(/\r?\n/).filter((l) => l !== '').length);
        },
      ),
      params(78205, 1500),
    );
  });
});

// ---- handshake response head --------------------------------------------------------------

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const statusArb = fc.oneof(
  fc.constantFrom(
    'HTTP/1.1 101 Switching Protocols',
    'HTTP/1.1 101',
    'HTTP/1.0 101 OK',
    'HTTP/1.1 200 OK',
    'HTTP/1.1 302 Found',
    'HTTP/2 101 x',
    'http/1.1 101 x',
    'HTTP/1.1 10 x',
    'HTTP/1.1 1010 x',
    'SSH-2.0-OpenSSH',
    '',
  ),
  fc.tuple(fc.integer({ min: 100, max: 599 }), text(12)).map(([c, r]) => `HTTP/1.1 ${c} ${r.replace(/\r\n/g, '')}`),
);
const headerLineArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptFor(KEY)}`,
      'Sec-WebSocket-Accept: wrong',
      'Sec-WebSocket-Protocol: chat',
      'Sec-WebSocket-Protocol: other',
      'Sec-WebSocket-Extensions: permessage-deflate',
      'Connection: keep-alive, Upgrade',
      'upgrade: WebSocket',
    ),
  },
  { weight: 3, arbitrary: fc.tuple(nameArb, valueArb).map(([n, v]) => `${n}: ${v}`.replace(/\r\n/g, ' ')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ' folded continuation',
      'NoColon',
      ':empty-name',
      'Bad Name: x',
      'X: a\0b',
      'X: \u00ff\u00fe',
      `X:${'y'.repeat(3000)}`,
    ),
  },
);

/**
 * Sum of the bytes allocated through the Buffer factories while `fn` runs (a Buffer.concat counts
 * once, not again for the allocation it makes inside). Work proportional to the bytes copied,
 * measured without a clock.
 */
function totalAllocation<T>(fn: () => T): { result: T; total: number } {
  const B = Buffer as unknown as Record<string, (...args: unknown[]) => Buffer>;
  const names = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'] as const;
  const originals = names.map((n) => B[n]!);
  let total = 0;
  let depth = 0;
  names.forEach((n, i) => {
    const orig = originals[i]!;
    B[n] = function (this: unknown, ...args: unknown[]) {
      depth++;
      try {
        const out = orig.apply(Buffer, args);
        if (depth === 1) total += out.length;
        return out;
      } finally {
        depth--;
      }
    };
  });
  try {
    return { result: fn(), total };
  } finally {
    names.forEach((n, i) => {
      B[n] = originals[i]!;
    });
  }
}

describe('handshake response parser fuzz', () => {
  it('a head fed in small pieces is copied a bounded number of times, not once per piece [seed 78307]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 3000 }),
        fc.oneof(
          fc.constant<Chunking>({ kind: 'bytes' }),
          fc.array(fc.nat(), { minLength: 50, maxLength: 400 }).map<Chunking>((cuts) => ({ kind: 'cuts', cuts })),
        ),
        fc.uint8Array({ maxLength: 20 }),
        (padding, c, after) => {
          const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Pad: ${'p'.repeat(padding)}\r\n\r\n`;
          const input = Buffer.concat([Buffer.from(head, 'latin1'), after]);
          const pieces = chunk(input, c);
          const { result, total } = totalAllocation(() => {
            const p = new ResponseParser(16 * 1024);
            for (const [i, piece] of pieces.entries()) {
              const r = p.push(piece);
              if (r) return { r, pushes: i + 1 };
            }
            return null;
          });
          expect(result).not.toBeNull();
          expect(result!.r.head.headers['x-pad']).toBe('p'.repeat(padding));
          expect(Buffer.concat([result!.r.rest, ...pieces.slice(result!.pushes)]).equals(Buffer.from(after))).toBe(
            true,
          );
          // One join of the input plus a few bytes of seam per push. Re-joining everything on
          // every push (the old parser) copies about pushes × length / 2 bytes.
          expect(total).toBeLessThanOrEqual(2 * input.length + 16 * result!.pushes);
        },
      ),
      params(78307, 100),
    );
  });

  it('any head in any chunking: the same head and rest, or the same ERR_WS_HANDSHAKE [seed 78206]', () => {
    fc.assert(
      fc.property(
        statusArb,
        fc.array(headerLineArb, { maxLength: 8 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.constantFrom(64, 512, 4096, 16 * 1024),
        chunkingArb,
        (status, headerLines, after, maxBytes, c) => {
          const head = `${[status, ...headerLines].join('\r\n')}\r\n\r\n`;
          const input = Buffer.concat([Buffer.from(head, 'latin1'), after]);
          const run = (chunks: Buffer[]) =>
            outcome(() => {
              const p = new ResponseParser(maxBytes);
              for (const ch of chunks) {
                const r = p.push(ch);
                if (r) return { head: r.head, rest: r.rest.toString('hex'), at: ch };
              }
              return null;
            }, 'ERR_WS_HANDSHAKE');
          const whole = run([input]);
          const split = run(chunk(input, c));
          if (!whole.ok) {
            expect(split).toEqual(whole);
            return;
          }
          expect(split.ok).toBe(true);
          const w = whole.value!;
          const s = (split as { ok: true; value: typeof w }).value!;
          expect(s.head).toEqual(w.head);
          // The rest is everything after the first blank line, up to the end of the chunk that completed the head.
          const end = input.indexOf('\r\n\r\n') + 4;
          expect(w.rest).toBe(input.subarray(end).toString('hex'));
          expect(input.subarray(end).toString('hex').startsWith(s.rest)).toBe(true);
          expect(end).toBeLessThanOrEqual(maxBytes);
          expect(w.head.statusCode).toBeGreaterThanOrEqual(100);
          expect(w.head.statusCode).toBeLessThanOrEqual(999);
          // Validation of the 101 answer either settles or refuses with ERR_WS_HANDSHAKE.
          const v = outcome(() => validateUpgrade(w.head, KEY, ['chat']), 'ERR_WS_HANDSHAKE');
          if (v.ok) {
            expect(['', 'chat']).toContain(v.value.protocol);
            expect(w.head.headers['sec-websocket-accept']).toBe(acceptFor(KEY));
          }
        },
      ),
      params(78206, 1200),
    );
  });

  it('every header line of the head shows up as an own property under its lower-case name, Object member names included [seed 78302]', () => {
    const name = fc.oneof(
      fc.stringMatching(/^[a-z][a-z-]{0,10}$/),
      fc.constantFrom(
        'constructor',
        '__proto__',
        'toString',
        'hasOwnProperty',
        'valueOf',
        'Constructor',
        '__PROTO__',
        'isPrototypeOf',
      ),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { maxLength: 5, selector: (n) => n.toLowerCase() }),
        fc.stringMatching(/^[a-z0-9]{1,8}$/),
        fc.boolean(),
        chunkingArb,
        (names, value, twice, c) => {
          // `twice`: each header repeated, which must join the two values with ", ".
          const lines = names.flatMap((n) => (twice ? [`${n}: ${value}`, `${n}: ${value}2`] : [`${n}: ${value}`]));
          const head = `${['HTTP/1.1 101 Switching Protocols', ...lines].join('\r\n')}\r\n\r\n`;
          const p = new ResponseParser(16384);
          let r: ReturnType<ResponseParser['push']> = null;
          for (const ch of chunk(Buffer.from(head, 'latin1'), c)) r = p.push(ch) ?? r;
          expect(r).not.toBeNull();
          const h = r!.head.headers;
          expect(Object.keys(h).sort()).toEqual(names.map((n) => n.toLowerCase()).sort());
          for (const n of names) {
            expect(Object.hasOwn(h, n.toLowerCase()), n).toBe(true);
            expect(h[n.toLowerCase()], n).toBe(twice ? `${value}, ${value}2` : value);
          }
          // Names never sent are absent, whatever Object.prototype holds.
          for (const n of ['constructor', '__proto__', 'tostring', 'valueof']) {
            if (!names.some((m) => m.toLowerCase() === n)) expect(h[n], n).toBeUndefined();
          }
        },
      ),
      params(78302, 300),
    );
  });

  it('a head that never ends is refused once it passes maxHeaderBytes, holding at most maxBytes + one chunk [seed 78207]', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('HTTP/1.1 101 OK\r\nX: ', 'HTTP/1.1 101 OK\r\n', '', '\r\n\rx'),
        fc.constantFrom('a', '\r\n', '\r', '\n', '\0', '\u00ff', 'X: y\r\n'),
        fc.integer({ min: 16, max: 64 * 1024 }),
        fc.integer({ min: 1, max: 8192 }),
        (prefix, fill, maxBytes, requestedChunk) => {
          // At most ~500 pushes per run, to keep the property fast (the parser's work is linear, see 78307).
          const chunkSize = Math.max(requestedChunk, Math.ceil(maxBytes / 500));
          // The fill never contains CRLFCRLF: '\r\n' repeated does, so it is interleaved with 'x' (and the prefix may end in CRLF).
          const unit = fill === '\r\n' ? 'x\r\n' : fill;
          const total = maxBytes * 3 + 100;
          const input = Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(total, unit, 'latin1')]);
          expect(input.indexOf('\r\n\r\n')).toBe(-1);
          const p = new ResponseParser(maxBytes);
          let fed = 0;
          let error: unknown;
          for (let i = 0; i < input.length && error === undefined; i += chunkSize) {
            const ch = input.subarray(i, i + chunkSize);
            try {
              expect(p.push(ch)).toBeNull();
              fed += ch.length;
            } catch (err) {
              error = err;
              fed += ch.length;
            }
          }
          expect(error).toBeInstanceOf(Air780Error);
          expect((error as Air780Error).code).toBe('ERR_WS_HANDSHAKE');
          // Refused at the first chunk that took it past the limit.
          expect(fed).toBeGreaterThan(maxBytes);
          expect(fed).toBeLessThanOrEqual(maxBytes + chunkSize);
        },
      ),
      params(78207, 150),
    );
  });
});
