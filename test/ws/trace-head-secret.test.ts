/**
 * Issue 17 item 5: no piece of a credential reaches the AT debug trace, however the request head is
 * split into sends. A head longer than one CIPSEND (1460 bytes: a big JWT in Authorization, a long
 * token in the query) used to have its later chunks traced with their first and last 32 bytes.
 * Checked on the spawned CLI's real output (`DEBUG=air780:* air780 ws --mock … --verbose`), and on
 * the payload renderer with every chunking: whole, byte by byte, random splits, head and frame in
 * one chunk.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadTrace } from '../../src/at/trace.js';
import { rng } from '../helpers/rng.js';
import { runCli } from '../cli/build.js';
import { useBuiltCli } from '../cli/spawn.js';
import { recordingServers } from '../cli/ws-helpers.js';

const cleanups = useBuiltCli();
const server = recordingServers(cleanups);

/** A token of `n` base64url characters (no run of 8 of them occurs in ordinary output by chance). */
function token(n: number): string {
  return randomBytes(n).toString('base64url').slice(0, n);
}

/** The first 8-character piece of `secret` found in `text`, or undefined. */
function leakedPiece(text: string, secret: string): string | undefined {
  const pieces = new Set<string>();
  for (let i = 0; i + 8 <= secret.length; i++) pieces.add(secret.slice(i, i + 8));
  for (let i = 0; i + 8 <= text.length; i++) {
    const p = text.slice(i, i + 8);
    if (pieces.has(p)) return p;
  }
  return undefined;
}

describe('DEBUG=air780:* air780 ws --mock --verbose with a long bearer token (spawned)', () => {
  // Sizes put the 1460-byte CIPSEND boundaries at different places in the token and the query.
  for (const [bearerLen, queryLen] of [
    [2000, 16],
    [1300, 200],
    [3500, 1600],
    [6000, 40],
  ] as const) {
    it(`Authorization: Bearer <${bearerLen}>, ?access_token=<${queryLen}>: not one 8-character piece in the output`, async () => {
      const s = await server();
      const bearer = token(bearerLen);
      const qtok = token(queryLen);
      const r = await runCli(
        [
          'ws',
          '--mock',
          '--verbose',
          '--linger',
          '200',
          '-H',
          `Authorization: Bearer ${bearer}`,
          s.url(`/feed?access_token=${qtok}`),
        ],
        {
          input: 'hello\n',
          env: { DEBUG: 'air780:*', DEBUG_COLORS: '0' },
          timeoutMs: 60_000,
        },
      );
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      // The credential did go through the module (so the trace had the chance to show it).
      expect(s.connections[0]!.headers.authorization).toBe(`Bearer ${bearer}`);
      expect(r.stderr).toMatch(/AT\+CIPSEND=\d,1460/);
      expect(r.stderr).toMatch(/GET \/feed\?access_token=\*\*\*/);
      const out = r.stdout + r.stderr;
      expect(leakedPiece(out, bearer), 'a piece of the bearer token is in the output').toBeUndefined();
      expect(leakedPiece(out, qtok), 'a piece of the query token is in the output').toBeUndefined();
    });
  }
});

describe('PayloadTrace: a request head is hidden whatever the chunking', () => {
  const bearer = token(3000);
  const qtok = token(1800);
  const head = Buffer.from(
    `GET /ws?token=${qtok}&v=1 HTTP/1.1\r\nHost: h:1\r\nX-Custom: ${token(10)}\r\nAuthorization: Bearer ${bearer}\r\nCookie: c=${bearer.slice(0, 50)}\r\n\r\n`,
    'latin1',
  );
  const frame = Buffer.from('after the head: plain payload text', 'latin1');

  function render(chunks: Buffer[], key = 'AT+CIPSEND=0'): string[] {
    const t = new PayloadTrace();
    return chunks.map((c) => t.render(key, c));
  }

  function chunkings(buf: Buffer): Array<[string, Buffer[]]> {
    const out: Array<[string, Buffer[]]> = [
      ['whole', [buf]],
      ['byte by byte', [...buf].map((b) => Buffer.from([b]))],
    ];
    out.push([
      '1460-byte sends',
      Array.from({ length: Math.ceil(buf.length / 1460) }, (_, i) => buf.subarray(i * 1460, (i + 1) * 1460)),
    ]);
    const r = rng(17);
    for (let k = 0; k < 40; k++) {
      const parts: Buffer[] = [];
      for (let off = 0; off < buf.length; ) {
        const n = 1 + Math.floor(r() * (r() < 0.3 ? 8 : 900));
        parts.push(buf.subarray(off, off + n));
        off += n;
      }
      out.push([`random splits #${k}`, parts]);
    }
    return out;
  }

  for (const [name, chunks] of chunkings(head)) {
    it(`${name}: no 8-character piece of a secret; the request line's path is shown; what follows is traced`, () => {
      const lines = render([...chunks, frame]);
      const text = lines.join('\n');
      expect(leakedPiece(text, bearer)).toBeUndefined();
      expect(leakedPiece(text, qtok)).toBeUndefined();
      // The request line is shown as far as the first payload holds it, query values masked.
      expect(text).toMatch(/^GET \//m);
      if (chunks[0]!.includes('\r\n')) expect(text).toContain('GET /ws?token=***&v=*** HTTP/1.1\\r\\n');
      else if (chunks[0]!.length >= 20) expect(text).toContain('GET /ws?token=***');
      // The head ends where it ends: the next payload is shown as it is.
      expect(lines.at(-1)).toBe('after the head: plain payload text');
    });
  }

  it('a head and a frame in one chunk, several heads back to back, and two links interleaved', () => {
    const t = new PayloadTrace();
    const two = Buffer.concat([head, frame]);
    const a = t.render('AT+CIPSEND=0', two);
    expect(a).toMatch(/headers not traced; 34 bytes after it not traced/);
    // Link 1's head interleaves with link 0's plain data: each link keeps its own state.
    const half = 700;
    const out = [
      t.render('AT+CIPSEND=1', head.subarray(0, half)),
      t.render('AT+CIPSEND=0', frame),
      t.render('AT+CIPSEND=1', head.subarray(half)),
      t.render('AT+CIPSEND=1', frame),
    ];
    expect(out[1]).toBe('after the head: plain payload text');
    expect(out[3]).toBe('after the head: plain payload text');
    for (const s of [a, ...out]) {
      expect(leakedPiece(s, bearer)).toBeUndefined();
      expect(leakedPiece(s, qtok)).toBeUndefined();
    }
  });

  it('payloads that are not requests are summarised as before, even short upper-case ones', () => {
    const t = new PayloadTrace();
    expect(t.render('k', Buffer.from('hello\r\n'))).toBe('hello\\r\\n');
    expect(t.render('k', Buffer.from('GE'))).toMatch(/held back/);
    expect(t.render('k', Buffer.from('T\r\nmore'))).toBe('GET\\r\\nmore');
  });
});
