/**
 * The websocket client over the modem driver over the mock module, against real servers: the `ws`
 * package and Python's `websockets`. Every message is echoed and compared by SHA-256.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { Modem } from '../../src/modem/index.js';
import { openerConnect, WebSocketClient, type WebSocketClientOptions } from '../../src/ws/index.js';
import { expectThroughModule, openModem, sha256, startPythonEcho, startWsEcho, type WsPeer } from './helpers.js';

const MiB = 1024 * 1024;

let wsPeer: WsPeer;
let pyPeer: { port: number; close(): Promise<void> };
let fragPeer: WsPeer;
beforeAll(async () => {
  [wsPeer, pyPeer] = await Promise.all([startWsEcho({ maxPayload: 64 * MiB }), startPythonEcho('none')]);
  // Echoes every message back in frames of at most 1000 bytes (text stays text).
  fragPeer = await startWsEcho({}, undefined, (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary) => {
      if (data.length === 0) return ws.send(data, { binary: isBinary });
      for (let off = 0; off < data.length; off += 1000) {
        ws.send(data.subarray(off, off + 1000), { binary: isBinary, fin: off + 1000 >= data.length });
      }
    });
  });
});
afterAll(async () => {
  await Promise.all([wsPeer.close(), pyPeer.close(), fragPeer.close()]);
});

/** A client through `modem`; resolves once open. Messages are collected in order. */
async function connectThrough(modem: Modem, port: number, options: WebSocketClientOptions = {}) {
  const client = new WebSocketClient(`ws://127.0.0.1:${port}/echo`, {
    connect: openerConnect(modem),
    keepaliveMs: 0,
    handshakeTimeoutMs: 15_000,
    maxPayload: 64 * MiB,
    ...options,
  });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  const inbox: Array<{ data: string | Buffer; isBinary: boolean }> = [];
  let wake: (() => void) | null = null;
  client.on('message', (data, isBinary) => {
    inbox.push({ data, isBinary });
    wake?.();
  });
  await client.opened();
  const next = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (inbox.length === 0) {
      if (Date.now() > deadline)
        throw new Error(`no message within ${timeoutMs} ms (errors: ${errors.map((e) => e.message).join('; ')})`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return inbox.shift()!;
  };
  const close = async () => {
    const closed = client.closed();
    client.close();
    return closed;
  };
  return { client, next, close, errors };
}

const SIZES = [0, 1, 125, 126, 65535, 65536, 200_000];

describe.each(['push', 'pull'] as const)('%s receive mode, in-process stream', (rxMode) => {
  describe.each([
    ['ws package', () => wsPeer.port],
    ['python websockets', () => pyPeer.port],
  ] as const)('%s echo server', (_name, port) => {
    it('echoes text (UTF-8), binary of every length form, and client-fragmented messages; closes cleanly', async () => {
      const { modem, mock } = await openModem({ rxMode });
      const c = await connectThrough(modem, port());
      const text = 'Grüße 你好 🚀 '.repeat(3000);
      c.client.send(text);
      let m = await c.next();
      expect(m.isBinary).toBe(false);
      expect(sha256(m.data as string)).toBe(sha256(text));
      for (const n of SIZES) {
        const bin = randomBytes(n);
        c.client.send(bin);
        m = await c.next();
        expect(m.isBinary).toBe(true);
        expect((m.data as Buffer).length).toBe(n);
        expect(sha256(m.data as Buffer)).toBe(sha256(bin));
      }
      // One binary message in frames of 1, 1460 and 70000 bytes; one text message split inside a character.
      const parts = [randomBytes(1), randomBytes(1460), randomBytes(70_000)];
      parts.forEach((p, i) => {
        c.client.send(p, { binary: true, fin: i === parts.length - 1 });
      });
      m = await c.next();
      expect(sha256(m.data as Buffer)).toBe(sha256(Buffer.concat(parts)));
      const euro = Buffer.from('a€b');
      c.client.send(euro.subarray(0, 2), { binary: false, fin: false });
      c.client.send(euro.subarray(2), { binary: false, fin: true });
      m = await c.next();
      expect(m).toEqual({ data: 'a€b', isBinary: false });
      expectThroughModule(mock, port(), rxMode);
      const ev = await c.close();
      expect(ev).toMatchObject({ code: 1000, wasClean: true });
      expect(c.errors).toEqual([]);
    });
  });

  it('reassembles server-fragmented text and binary messages (ws server, 1000-byte frames)', async () => {
    const { modem } = await openModem({ rxMode });
    const c = await connectThrough(modem, fragPeer.port);
    const bin = randomBytes(300_001);
    c.client.send(bin);
    const m = await c.next();
    expect(sha256(m.data as Buffer)).toBe(sha256(bin));
    // 1000-byte frames split many 3- and 4-byte characters: the client must reassemble first.
    const text = '€😀'.repeat(20_000);
    c.client.send(text);
    const t = await c.next();
    expect(t.isBinary).toBe(false);
    expect(t.data).toBe(text);
    await c.close();
    expect(c.errors).toEqual([]);
  });
});

// 16 MiB each way is ~32 MiB of AT traffic in 1460-byte CIPSENDs and reads: once per receive mode
// (and per server), to keep the directory within its time budget.
describe.each([
  ['push', 'ws package', () => wsPeer.port],
  ['pull', 'python websockets', () => pyPeer.port],
] as const)('16 MiB in %s mode (%s)', (rxMode, _name, port) => {
  it('echoes 16 MiB of random bytes, SHA-256 equal', async () => {
    const { modem, mock } = await openModem({ rxMode });
    const c = await connectThrough(modem, port(), { perMessageDeflate: false });
    expectThroughModule(mock, port(), rxMode);
    const big = randomBytes(16 * MiB);
    c.client.send(big);
    const m = await c.next(60_000);
    expect((m.data as Buffer).length).toBe(big.length);
    expect(sha256(m.data as Buffer)).toBe(sha256(big));
    expect((await c.close()).wasClean).toBe(true);
  }, 90_000);
});

describe('over a real pty with serialport', () => {
  it('echoes text, binary and 1 MiB through the ws package and python servers', async () => {
    const { modem, mock } = await openModem({ pty: true, rxMode: 'pull' });
    for (const port of [wsPeer.port, pyPeer.port]) {
      const c = await connectThrough(modem, port);
      c.client.send('hello over a pty');
      expect(await c.next()).toEqual({ data: 'hello over a pty', isBinary: false });
      expectThroughModule(mock, port, 'pull');
      const bin = randomBytes(MiB);
      c.client.send(bin);
      const m = await c.next(60_000);
      expect(sha256(m.data as Buffer)).toBe(sha256(bin));
      expect((await c.close()).wasClean).toBe(true);
      expect(c.errors).toEqual([]);
    }
  }, 60_000);
});
