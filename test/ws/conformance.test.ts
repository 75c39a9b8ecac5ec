/**
 * Client conformance cases modelled on the Autobahn testsuite (sections 1–7, 9): a raw server
 * sends crafted bytes and asserts what the client does (echo, close code, who closes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { WebSocketClient } from '../../src/ws/index.js';
import { closeBody, serverFrame, startRawServer, type RawConn, type RawServer } from './raw-server.js';

let server: RawServer;
beforeAll(async () => {
  server = await startRawServer();
});
afterAll(async () => {
  await server.close();
});

interface Session {
  conn: RawConn;
  client: WebSocketClient;
  closed: Promise<{ code: number; reason: string; wasClean: boolean }>;
  errors: Error[];
}

/** An echoing client (as Autobahn expects) connected to the raw server. */
async function session(options: ConstructorParameters<typeof WebSocketClient>[1] = {}): Promise<Session> {
  const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
    perMessageDeflate: false,
    keepaliveMs: 0,
    closeTimeoutMs: 2000,
    ...options,
  });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  client.on('message', (data, isBinary) => {
    if (client.state === 'open') client.send(data, { binary: isBinary });
  });
  const conn = await server.next();
  await client.opened();
  return { conn, client, closed: client.closed(), errors };
}

/** Asserts the client failed the connection with `code`: close frame sent, TCP ended by the client. */
async function expectFailed(s: Session, code: number): Promise<void> {
  const cf = await s.conn.closeFrame();
  expect(cf.code).toBe(code);
  // The server does not answer with a close frame: the client must still end TCP itself.
  await s.conn.ended();
  s.conn.socket.end();
  const ev = await s.closed;
  expect(ev.code).toBe(code);
  expect(ev.wasClean).toBe(false);
  expect(s.errors.length).toBeGreaterThan(0);
}

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];

describe('1. framing at the length boundaries', () => {
  for (const [opcode, name] of [
    [1, 'text'],
    [2, 'binary'],
  ] as const) {
    it.each(LENGTHS)(`${name} of %d bytes is echoed, whole and chopped`, async (n) => {
      const s = await session();
      const payload = opcode === 1 ? Buffer.from('*'.repeat(n)) : randomBytes(n);
      const bytes = serverFrame(opcode, payload);
      await s.conn.send(bytes);
      let f = await s.conn.frame(0);
      expect(f).toMatchObject({ fin: true, rsv: 0, opcode, masked: true });
      expect(f.payload.equals(payload)).toBe(true);
      // Chopped: one byte at a time for small frames, odd-sized pieces for big ones.
      await s.conn.send(bytes, n <= 1024 ? 1 : 997);
      f = await s.conn.frame(1);
      expect(f.payload.equals(payload)).toBe(true);
      s.client.close();
      expect((await s.conn.closeFrame()).code).toBe(1000);
    });
  }

  it('accepts a non-minimal 64-bit length for a short payload', async () => {
    const s = await session();
    await s.conn.send(serverFrame(1, 'short', { lengthForm: 64 }));
    expect((await s.conn.frame(0)).payload.toString()).toBe('short');
    s.client.terminate();
  });

  it('decodes many frames arriving in one chunk', async () => {
    const s = await session();
    const many = Buffer.concat(Array.from({ length: 50 }, (_, i) => serverFrame(1, `m${i}`)));
    await s.conn.send(many);
    const f = await s.conn.frame(49);
    expect(f.payload.toString()).toBe('m49');
    expect(s.conn.frames.map((x) => x.payload.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    s.client.terminate();
  });
});

describe('2. ping and pong', () => {
  it.each([0, 1, 125])('answers a ping of %d bytes with the same payload', async (n) => {
    const s = await session();
    const payload = randomBytes(n);
    await s.conn.send(serverFrame(9, payload), 1);
    const f = await s.conn.frame(0);
    expect(f.opcode).toBe(10);
    expect(f.payload.equals(payload)).toBe(true);
    s.client.terminate();
  });

  it('fails a ping with a 126-byte payload with 1002', async () => {
    const s = await session();
    await s.conn.send(serverFrame(9, randomBytes(126)));
    await expectFailed(s, 1002);
  });

  it('ignores an unsolicited pong and answers 10 pings in order', async () => {
    const s = await session();
    const pongs: Buffer[] = [];
    s.client.on('pong', (d) => pongs.push(d));
    await s.conn.send(serverFrame(10, 'unsolicited'));
    await s.conn.send(Buffer.concat(Array.from({ length: 10 }, (_, i) => serverFrame(9, `p${i}`))));
    const last = await s.conn.frame(9);
    expect(last.payload.toString()).toBe('p9');
    expect(s.conn.frames.every((f) => f.opcode === 10)).toBe(true);
    expect(pongs.map(String)).toEqual(['unsolicited']);
    s.client.terminate();
  });

  it('fails a fragmented ping with 1002', async () => {
    const s = await session();
    await s.conn.send(serverFrame(9, 'x', { fin: false }));
    await expectFailed(s, 1002);
  });
});

describe('3. reserved bits', () => {
  it.each([1, 2, 3, 4, 5, 6, 7])(
    'fails RSV=%d (no extension) with 1002, after echoing the message before it',
    async (rsv) => {
      const s = await session();
      await s.conn.send(Buffer.concat([serverFrame(1, 'hello'), serverFrame(1, 'bad', { rsv })]));
      expect((await s.conn.frame(0)).payload.toString()).toBe('hello');
      await expectFailed(s, 1002);
    },
  );

  it('fails RSV1 on a ping with 1002', async () => {
    const s = await session();
    await s.conn.send(serverFrame(9, '', { rsv: 4 }));
    await expectFailed(s, 1002);
  });
});

describe('4. opcodes', () => {
  it.each([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf])('fails reserved opcode %d with 1002', async (op) => {
    const s = await session();
    await s.conn.send(serverFrame(op, 'reserved'));
    await expectFailed(s, 1002);
  });
});

describe('5. fragmentation', () => {
  it('reassembles a fragmented text message, chopped, with pings in between', async () => {
    const s = await session();
    const bytes = Buffer.concat([
      serverFrame(1, 'frag', { fin: false }),
      serverFrame(9, 'ping1'),
      serverFrame(0, 'ment', { fin: false }),
      serverFrame(9, 'ping2'),
      serverFrame(0, 'ed', { fin: true }),
    ]);
    await s.conn.send(bytes, 1);
    const frames = [await s.conn.frame(0), await s.conn.frame(1), await s.conn.frame(2)];
    expect(frames.map((f) => [f.opcode, f.payload.toString()])).toEqual([
      [10, 'ping1'],
      [10, 'ping2'],
      [1, 'fragmented'],
    ]);
    s.client.terminate();
  });

  it('fails a continuation with nothing to continue with 1002', async () => {
    const s = await session();
    await s.conn.send(serverFrame(0, 'orphan'));
    await expectFailed(s, 1002);
  });

  it('fails a new text frame inside a fragmented message with 1002', async () => {
    const s = await session();
    await s.conn.send(Buffer.concat([serverFrame(1, 'a', { fin: false }), serverFrame(1, 'b')]));
    await expectFailed(s, 1002);
  });

  it('fails a masked server frame with 1002', async () => {
    const s = await session();
    await s.conn.send(serverFrame(1, 'masked', { mask: Buffer.from([1, 2, 3, 4]) }));
    await expectFailed(s, 1002);
  });
});

describe('6. UTF-8', () => {
  it.each([
    ['κόσμε', Buffer.from('κόσμε')],
    ['boundary U+FFFF', Buffer.from([0xef, 0xbf, 0xbf])],
    ['boundary U+10FFFF', Buffer.from([0xf4, 0x8f, 0xbf, 0xbf])],
    ['U+0000', Buffer.from([0x00])],
  ])('echoes valid text %s, also fragmented per byte', async (_n, bytes) => {
    const s = await session();
    await s.conn.send(serverFrame(1, bytes));
    expect((await s.conn.frame(0)).payload.equals(bytes)).toBe(true);
    const frags = [...bytes].map((b, i) =>
      serverFrame(i === 0 ? 1 : 0, Buffer.from([b]), { fin: i === bytes.length - 1 }),
    );
    await s.conn.send(Buffer.concat(frags));
    expect((await s.conn.frame(1)).payload.equals(bytes)).toBe(true);
    s.client.terminate();
  });

  it.each([
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['overlong', [0xc0, 0xaf]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['truncated at message end', [0xce]],
  ])('fails invalid text (%s) with 1007', async (_n, seq) => {
    const s = await session();
    await s.conn.send(serverFrame(1, Buffer.concat([Buffer.from('ok '), Buffer.from(seq)])));
    await expectFailed(s, 1007);
  });

  it('fails fast: 1007 arrives while the message is still unfinished (fragment)', async () => {
    const s = await session();
    // First fragment valid, second invalid, and the final fragment is never sent.
    await s.conn.send(serverFrame(1, 'valid ', { fin: false }));
    await s.conn.send(serverFrame(0, Buffer.from([0xed, 0xa0, 0x80, 0x41]), { fin: false }));
    await expectFailed(s, 1007);
  });

  it('fails fast inside one frame: 1007 before the frame payload is complete', async () => {
    const s = await session();
    const payload = Buffer.concat([Buffer.from('abc'), Buffer.from([0xf8]), Buffer.alloc(1000, 0x41)]);
    const frame = serverFrame(1, payload);
    await s.conn.send(frame.subarray(0, 4 + 3 + 1 + 10)); // header + 'abc' + bad byte + a few more
    await expectFailed(s, 1007);
  });
});

describe('7. close handshake', () => {
  it('echoes the server close code, the server closes TCP, wasClean', async () => {
    const s = await session();
    await s.conn.send(serverFrame(8, closeBody(1000, 'bye')));
    const cf = await s.conn.closeFrame();
    expect(cf.code).toBe(1000);
    s.conn.socket.end();
    expect(await s.closed).toEqual({ code: 1000, reason: 'bye', wasClean: true });
  });

  it('answers an empty close with an empty close (reported as 1005)', async () => {
    const s = await session();
    await s.conn.send(serverFrame(8));
    const cf = await s.conn.closeFrame();
    expect(cf.code).toBeNull();
    s.conn.socket.end();
    expect((await s.closed).code).toBe(1005);
  });

  it('client-initiated: sends 1000 + reason, waits for the server close, then ends', async () => {
    const s = await session();
    s.client.close(4000, 'done');
    const cf = await s.conn.closeFrame();
    expect(cf).toEqual({ code: 4000, reason: 'done' });
    expect(s.client.state).toBe('closing');
    await s.conn.send(serverFrame(8, closeBody(4000, 'done')));
    // Having both close frames, the client ends TCP (the server may also close first).
    await s.conn.ended();
    s.conn.socket.end();
    expect(await s.closed).toEqual({ code: 4000, reason: 'done', wasClean: true });
  });

  it('client-initiated with a silent server: gives up after closeTimeoutMs (1006)', async () => {
    const s = await session({ closeTimeoutMs: 200 });
    s.client.close();
    await s.conn.closeFrame();
    expect((await s.closed).code).toBe(1006);
  });

  it('ignores data after the close frame', async () => {
    const s = await session();
    await s.conn.send(Buffer.concat([serverFrame(8, closeBody(1000)), serverFrame(1, 'late')]));
    await s.conn.closeFrame();
    s.conn.socket.end();
    await s.closed;
    expect(s.conn.frames.filter((f) => f.opcode === 1)).toHaveLength(0);
  });

  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])(
    'accepts close code %d and echoes it',
    async (code) => {
      const s = await session();
      await s.conn.send(serverFrame(8, closeBody(code)));
      expect((await s.conn.closeFrame()).code).toBe(code);
      s.conn.socket.end();
      expect((await s.closed).code).toBe(code);
    },
  );

  it.each([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])(
    'fails close code %d with 1002',
    async (code) => {
      const s = await session();
      await s.conn.send(serverFrame(8, closeBody(code)));
      await expectFailed(s, 1002);
    },
  );

  it('fails a 1-byte close body with 1002 and an invalid UTF-8 reason with 1007', async () => {
    let s = await session();
    await s.conn.send(serverFrame(8, Buffer.from([0x03])));
    await expectFailed(s, 1002);
    s = await session();
    await s.conn.send(
      serverFrame(
        8,
        closeBody(
          1000,
          Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]),
        ),
      ),
    );
    await expectFailed(s, 1007);
  });

  it('accepts a 123-byte close reason', async () => {
    const s = await session();
    await s.conn.send(serverFrame(8, closeBody(1000, 'r'.repeat(123))));
    expect((await s.conn.closeFrame()).reason).toBe('r'.repeat(123));
    s.conn.socket.end();
    expect((await s.closed).reason).toBe('r'.repeat(123));
  });
});

describe('9. limits', () => {
  it('fails a message over maxPayload with 1009 as soon as the header announces it', async () => {
    const s = await session({ maxPayload: 1000 });
    await s.conn.send(serverFrame(2, randomBytes(1001)).subarray(0, 4));
    await expectFailed(s, 1009);
  });

  it('fails a fragmented message whose total exceeds maxPayload with 1009', async () => {
    const s = await session({ maxPayload: 1000 });
    await s.conn.send(
      Buffer.concat([serverFrame(2, randomBytes(600), { fin: false }), serverFrame(0, randomBytes(600))]),
    );
    await expectFailed(s, 1009);
  });
});

describe('9.3/9.4. a 4 MiB message in many fragments (the frame bound must leave room for these)', () => {
  /** Autobahn 9.3.x (text) and 9.4.x (binary): one 4 MiB message in fragments of `size` bytes. */
  const SIZES = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
  async function fragmented(opcode: 1 | 2, size: number): Promise<void> {
    const s = await session();
    const total = 4 * 1024 * 1024;
    const payload = opcode === 1 ? Buffer.from('*'.repeat(total)) : randomBytes(total);
    const frames: Buffer[] = [];
    for (let off = 0; off < total; off += size) {
      frames.push(serverFrame(off === 0 ? opcode : 0, payload.subarray(off, off + size), { fin: off + size >= total }));
    }
    await s.conn.send(Buffer.concat(frames));
    const echo = await s.conn.frame(0, 30_000);
    expect(echo.opcode).toBe(opcode);
    expect(echo.fin).toBe(true);
    expect(echo.payload.equals(payload)).toBe(true);
    expect(s.errors).toEqual([]);
    s.client.terminate();
  }
  it.each(SIZES)('text in fragments of %d bytes is echoed whole', (size) => fragmented(1, size), 60_000);
  it.each(SIZES)('binary in fragments of %d bytes is echoed whole', (size) => fragmented(2, size), 60_000);
});
