import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { Receiver } from '../../src/ws/receiver.js';
import { encodeFrame } from '../../src/ws/frame.js';
import { ResponseParser, acceptFor, buildRequest, validateUpgrade } from '../../src/ws/handshake.js';
import { parseWsUrl } from '../../src/ws/url.js';
import { serverFrame, closeBody } from './raw-server.js';

type Ev = [string, ...unknown[]];

function decode(chunks: Buffer[], frames = false, maxPayload = 1 << 20): Ev[] {
  const out: Ev[] = [];
  const r = new Receiver(
    { maxPayload, frames },
    {
      message: (d, bin) => out.push(['message', bin ? d.toString('hex') : d.toString('utf8'), bin]),
      fragment: (d, fin, op) => out.push(['fragment', d.toString('hex'), fin, op]),
      ping: (d) => out.push(['ping', d.toString()]),
      pong: (d) => out.push(['pong', d.toString()]),
      close: (code, reason) => out.push(['close', code, reason]),
      error: (e) => out.push(['error', e.code, e.closeCode]),
    },
  );
  for (const c of chunks) r.push(c);
  return out;
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let pos = 0;
  for (const p of [...pts, buf.length]) {
    out.push(buf.subarray(pos, p));
    pos = p;
  }
  return out;
}

const stream = Buffer.concat([
  serverFrame(1, 'héllo'),
  serverFrame(2, randomBytes(200)),
  serverFrame(1, 'frag', { fin: false }),
  serverFrame(9, 'p'),
  serverFrame(0, 'mént', { fin: true }),
  serverFrame(2, Buffer.alloc(70_000, 7)),
  serverFrame(2, Buffer.alloc(0)),
  serverFrame(10, 'q'),
  serverFrame(8, closeBody(1001, 'away')),
  serverFrame(1, 'after close is ignored'),
]);

describe('Receiver chunking', () => {
  const whole = decode([stream]);
  it('decodes the reference stream', () => {
    expect(whole.map((e) => e[0])).toEqual([
      'message',
      'message',
      'ping',
      'message',
      'message',
      'message',
      'pong',
      'close',
    ]);
    expect(whole[0]).toEqual(['message', 'héllo', false]);
    expect(whole[3]).toEqual(['message', 'fragmént', false]);
    expect(whole[7]).toEqual(['close', 1001, 'away']);
  });
  it('gives the same events byte by byte', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(decode(bytes)).toEqual(whole);
  });
  it('gives the same events for random splits', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 30 }), (cuts) => {
        expect(decode(splitAt(stream, cuts))).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });
  it('frames mode reports each data frame with fin and opcode', () => {
    const ev = decode(
      [
        Buffer.concat([
          serverFrame(1, 'ab', { fin: false }),
          serverFrame(0, 'cd', { fin: false }),
          serverFrame(0, 'e'),
        ]),
      ],
      true,
    );
    expect(ev).toEqual([
      ['fragment', Buffer.from('ab').toString('hex'), false, 1],
      ['fragment', Buffer.from('cd').toString('hex'), false, 0],
      ['fragment', Buffer.from('e').toString('hex'), true, 0],
    ]);
  });
  it('reports invalid UTF-8 split across chunks and frames at the offending byte', () => {
    const bytes = Buffer.concat([
      serverFrame(1, Buffer.from([0xe2, 0x82]), { fin: false }),
      serverFrame(0, Buffer.from([0x28, 0x41]), { fin: false }),
    ]);
    // 0xE2 0x82 0x28: invalid at 0x28 — reported before any further frame.
    expect(decode([bytes])).toEqual([['error', 'ERR_WS_INVALID_UTF8', 1007]]);
  });
});

describe('encodeFrame', () => {
  it.each([0, 1, 3, 4, 5, 125, 126, 127, 65535, 65536, 100_003])(
    'masks %d bytes correctly in every length form',
    (n) => {
      const payload = randomBytes(n);
      const copy = Buffer.from(payload);
      const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
      const f = encodeFrame({ fin: true, opcode: 2, payload, maskKey: key });
      expect(payload.equals(copy)).toBe(true); // caller's buffer untouched
      const hlen = n < 126 ? 2 : n < 65536 ? 4 : 10;
      expect(f[0]).toBe(0x82);
      expect(f[1]! & 0x80).toBe(0x80);
      const len = n < 126 ? f[1]! & 0x7f : n < 65536 ? f.readUInt16BE(2) : Number(f.readBigUInt64BE(2));
      expect(len).toBe(n);
      expect([...f.subarray(hlen, hlen + 4)]).toEqual([...key]);
      const body = f.subarray(hlen + 4);
      const unmasked = Buffer.from(body.map((b, i) => b ^ key[i & 3]!));
      expect(unmasked.equals(payload)).toBe(true);
    },
  );
  it('uses a fresh random mask per frame', () => {
    const keys = new Set(
      Array.from({ length: 50 }, () =>
        encodeFrame({ fin: true, opcode: 1, payload: Buffer.from('x') })
          .subarray(2, 6)
          .toString('hex'),
      ),
    );
    expect(keys.size).toBeGreaterThan(45);
  });
  it('masks from unaligned source and multi-part payloads', () => {
    const big = randomBytes(1001);
    const parts = [big.subarray(1, 500), big.subarray(500, 1001)];
    const key = Buffer.from([1, 2, 3, 4]);
    const f = encodeFrame({ fin: false, opcode: 0, payload: parts, maskKey: key });
    expect(f[0]).toBe(0x00);
    const body = f.subarray(8);
    expect(Buffer.from(body.map((b, i) => b ^ key[i & 3]!)).equals(big.subarray(1))).toBe(true);
  });
});

describe('handshake response parser', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const response = Buffer.concat([
    Buffer.from(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n`,
    ),
    serverFrame(1, 'early'),
  ]);
  function run(chunks: Buffer[]) {
    const p = new ResponseParser(16384);
    for (const c of chunks) {
      const r = p.push(c);
      if (r) return r;
    }
    return null;
  }
  it('computes the RFC example accept value', () => {
    expect(acceptFor(key)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
  it('parses the head and keeps the bytes after it, whatever the chunking', () => {
    const check = (r: ReturnType<typeof run>) => {
      expect(r).not.toBeNull();
      expect(r!.head.statusCode).toBe(101);
      expect(r!.head.headers['x-multi']).toBe('a, b');
      expect(validateUpgrade(r!.head, key, []).protocol).toBe('');
      // The rest holds the beginning of what followed (at least the bytes of the last chunk).
      return r!.rest;
    };
    expect(check(run([response])).equals(serverFrame(1, 'early'))).toBe(true);
    const headLen = response.indexOf('\r\n\r\n') + 4;
    expect(check(run([...response.subarray(0, headLen)].map((b) => Buffer.from([b])))).length).toBe(0);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: response.length }), { maxLength: 10 }), (cuts) => {
        const chunks = splitAt(response, cuts);
        const p = new ResponseParser(16384);
        let rest: Buffer | null = null;
        const after: Buffer[] = [];
        for (const c of chunks) {
          if (rest) after.push(c);
          else {
            const r = p.push(c);
            if (r) rest = check(r);
          }
        }
        expect(Buffer.concat([rest!, ...after]).equals(serverFrame(1, 'early'))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
  it('rejects a wrong accept, a missing upgrade, HTTP/1.0, and an oversize head', () => {
    const head = (extra: string) => run([Buffer.from(`HTTP/1.1 101 OK\r\n${extra}\r\n\r\n`)])!.head;
    expect(() =>
      validateUpgrade(head(`Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong`), key, []),
    ).toThrow(/Sec-WebSocket-Accept/);
    expect(() =>
      validateUpgrade(head(`Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}`), key, []),
    ).toThrow(/Upgrade/);
    expect(() =>
      validateUpgrade(head(`Upgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(key)}`), key, []),
    ).toThrow(/Connection/);
    expect(() =>
      validateUpgrade(
        head(
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Protocol: nope`,
        ),
        key,
        ['chat'],
      ),
    ).toThrow(/subprotocol/);
    const h10 = run([
      Buffer.from(
        `HTTP/1.0 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      ),
    ])!.head;
    expect(() => validateUpgrade(h10, key, [])).toThrow(/HTTP\/1.0/);
    const p = new ResponseParser(100);
    expect(() => p.push(Buffer.from(`HTTP/1.1 101 OK\r\n${'X: y\r\n'.repeat(30)}`))).toThrow(/exceeds 100 bytes/);
    expect(() => run([Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')])).toThrow(/did not answer with HTTP/);
  });
});

describe('URL parsing and the request', () => {
  it.each([
    ['ws://example.com', { host: 'example.com', port: 80, path: '/', hostHeader: 'example.com', secure: false }],
    ['wss://example.com', { port: 443, hostHeader: 'example.com', secure: true }],
    ['ws://example.com:80/x', { port: 80, hostHeader: 'example.com' }],
    ['ws://example.com:8080/chat?x=1&y=2#frag', { port: 8080, path: '/chat?x=1&y=2', hostHeader: 'example.com:8080' }],
    ['ws://example.com?x=1', { host: 'example.com', path: '/?x=1' }],
    ['ws://a/b', { host: 'a', path: '/b' }],
    ['ws://[::1]:8080/x', { host: '::1', port: 8080, hostHeader: '[::1]:8080', servername: '' }],
    ['wss://127.0.0.1/x', { host: '127.0.0.1', servername: '' }],
    ['wss://bücher.example/', { host: 'xn--bcher-kva.example', servername: 'xn--bcher-kva.example' }],
    [
      'ws://user:pw@host.com:9000/x',
      { host: 'host.com', port: 9000, authorization: `Basic ${Buffer.from('user:pw').toString('base64')}` },
    ],
  ])('%s', (url, expected) => {
    expect(parseWsUrl(url)).toMatchObject(expected);
  });
  it.each(['http://example.com/x', 'ftp://x/', 'example.com:81/p', 'ws://', 'ws://exa mple.com/'])(
    'refuses %s with ERR_WS_URL',
    (url) => {
      expect(() => parseWsUrl(url)).toThrow(expect.objectContaining({ code: 'ERR_WS_URL' }));
    },
  );
  it('never shows the password in the display form', () => {
    expect(parseWsUrl('ws://u:secret@h/').display).not.toContain('secret');
  });
  it('builds the request with Host, upgrade headers and user headers', () => {
    const req = buildRequest({
      target: parseWsUrl('ws://h:81/p?q'),
      key: 'k',
      origin: 'o',
      protocols: ['a', 'b'],
      extensions: 'permessage-deflate',
      headers: [['X', 'y']],
    });
    expect(req).toBe(
      'GET /p?q HTTP/1.1\r\nHost: h:81\r\nX: y\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nOrigin: o\r\nSec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
    );
  });
});
