/**
 * Text given as bytes must be UTF-8 before it is framed: a server fails the connection (1007) for
 * an invalid text frame, so the client refuses it with ERR_WS_INVALID_UTF8 and sends nothing.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, WebSocketClient, type LuatWsEvent } from '../../src/ws/index.js';
import { Sender } from '../../src/ws/sender.js';
import { rng } from '../helpers/rng.js';
import { startWsEcho, type WsPeer } from './peers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A `ws` server (it validates UTF-8 and fails the connection with 1007) that logs what it got. */
async function recordingEcho(perMessageDeflate: boolean): Promise<WsPeer & { got: string[]; closes: number[] }> {
  const got: string[] = [];
  const closes: number[] = [];
  const p = await startWsEcho({ perMessageDeflate }, undefined, (ws) => {
    ws.on('message', (data: Buffer, isBinary) => {
      got.push(isBinary ? `bin:${data.toString('hex')}` : data.toString('utf8'));
      ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code) => closes.push(code));
  });
  cleanup.push(() => p.close());
  return Object.assign(p, { got, closes });
}

async function openClient(
  port: number,
  deflate: boolean,
): Promise<{ ws: WebSocketClient; messages: Array<string | Buffer>; errors: Error[] }> {
  const ws = new WebSocketClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
  cleanup.push(() => ws.terminate());
  const messages: Array<string | Buffer> = [];
  const errors: Error[] = [];
  ws.on('message', (d) => messages.push(d));
  ws.on('error', (e) => errors.push(e));
  await ws.opened();
  return { ws, messages, errors };
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each([false, true])('WebSocketClient.send of text bytes (deflate %s)', (deflate) => {
  it('invalid UTF-8 throws ERR_WS_INVALID_UTF8 (with or without callback), sends nothing, connection stays up', async () => {
    const peer = await recordingEcho(deflate);
    const { ws, messages, errors } = await openClient(peer.port, deflate);
    const bad = Buffer.from([0x61, 0x62, 0xff, 0x63]);
    let cbCalled = false;
    expect(() => ws.send(bad, { binary: false })).toThrow(
      expect.objectContaining({ code: 'ERR_WS_INVALID_UTF8', name: 'WsInvalidTextError' }),
    );
    expect(() => ws.send(bad, { binary: false }, () => (cbCalled = true))).toThrow(
      /offset 2.*nothing was sent.*binary/,
    );
    await expect(ws.sendAsync(new Uint8Array([0xc3, 0x28]), { binary: false })).rejects.toMatchObject({
      code: 'ERR_WS_INVALID_UTF8',
    });
    // A lone surrogate encoded as UTF-8 (CESU) and an overlong form are not UTF-8 either.
    expect(() => ws.send(Buffer.from([0xed, 0xa0, 0x80]), { binary: false })).toThrow(
      expect.objectContaining({ code: 'ERR_WS_INVALID_UTF8' }),
    );
    expect(() => ws.send(Buffer.from([0xc0, 0xaf]), { binary: false })).toThrow(
      expect.objectContaining({ code: 'ERR_WS_INVALID_UTF8' }),
    );
    // The same bytes as binary, and valid text bytes, go through; so do strings with any characters.
    ws.send(bad);
    ws.send(Buffer.from('été ✓ 😀'), { binary: false });
    ws.send('lone \ud800 surrogate in a string');
    await until(() => messages.length === 3, 'three echoes');
    expect(peer.got).toEqual(['bin:6162ff63', 'été ✓ 😀', 'lone \ufffd surrogate in a string']);
    expect(messages[1]).toBe('été ✓ 😀');
    expect(cbCalled).toBe(false);
    expect(errors).toEqual([]);
    expect(peer.closes).toEqual([]);
    expect(ws.state).toBe('open');
  });

  it('fragments may split a character; the last may not end inside one', async () => {
    const peer = await recordingEcho(deflate);
    const { ws, messages } = await openClient(peer.port, deflate);
    const e = Buffer.from('é'); // c3 a9
    ws.send(Buffer.concat([Buffer.from('a'), e.subarray(0, 1)]), { binary: false, fin: false });
    // A string cannot continue a character cut by the previous fragment.
    expect(() => ws.send('b', { fin: false })).toThrow(expect.objectContaining({ code: 'ERR_WS_INVALID_UTF8' }));
    ws.send(e.subarray(1), { fin: false });
    ws.send('b', { fin: false });
    const smile = Buffer.from('😀');
    expect(() => ws.send(smile.subarray(0, 3), { fin: true })).toThrow(/ends in the middle of a UTF-8 character/);
    ws.send(smile.subarray(0, 3), { fin: false });
    ws.send(smile.subarray(3), { fin: true });
    await until(() => messages.length === 1, 'the echo');
    expect(messages).toEqual(['aéb😀']);
    expect(peer.got).toEqual(['aéb😀']);
    expect(peer.closes).toEqual([]);
  });
});

describe('LuatOS send of text bytes', () => {
  it('returns false for invalid UTF-8 with opt 0 (no event, still connected); opt 1 sends it as binary', async () => {
    const peer = await recordingEcho(false);
    const wsc = websocket.create('host', `ws://127.0.0.1:${peer.port}/`)!;
    cleanup.push(() => wsc.close());
    const events: Array<{ event: LuatWsEvent; data: unknown }> = [];
    wsc.on((_c, event, data) => events.push({ event, data }));
    wsc.connect();
    await until(() => wsc.ready(), 'conack');
    expect(wsc.send(Buffer.from([0xfe, 0xff]))).toBe(false);
    expect(wsc.send(new Uint8Array([0xfe, 0xff]), 1, 0)).toBe(false);
    expect(wsc.send(Buffer.from([0xfe, 0xff]), 1, 1)).toBe(true);
    expect(wsc.send(Buffer.from('ok ✓'))).toBe(true);
    await until(() => events.filter((e) => e.event === 'recv').length === 2, 'two recv');
    expect(events.map((e) => e.event).filter((e) => e !== 'sent')).toEqual(['conack', 'recv', 'recv']);
    expect(peer.got).toEqual(['bin:feff', 'ok ✓']);
    expect(wsc.ready()).toBe(true);
  });
});

describe('Sender text validation, every split of the message into fragments', () => {
  /** Sends `text` as one text message cut at `cuts`; false when the sender refused a fragment. */
  function fragments(text: Buffer, cuts: number[]): { ok: boolean; written: number } {
    const out = new PassThrough();
    let written = 0;
    out.on('data', (c: Buffer) => (written += c.length));
    const s = new Sender(out, null);
    const points = [0, ...cuts, text.length];
    try {
      for (let i = 0; i + 1 < points.length; i++) {
        s.sendData(text.subarray(points[i], points[i + 1]), { binary: false, fin: i + 2 === points.length });
      }
      return { ok: true, written };
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ERR_WS_INVALID_UTF8');
      return { ok: false, written };
    }
  }

  const samples = ['', 'ascii only', 'é', 'aé😀b✓', '😀😀', '\u07ff\u0800\uffff\u{10000}\u{10ffff}'];
  it.each(samples)('valid %j: accepted at every single cut point and byte by byte', (str) => {
    const b = Buffer.from(str);
    for (let cut = 0; cut <= b.length; cut++) expect(fragments(b, [cut]).ok).toBe(true);
    expect(
      fragments(
        b,
        Array.from({ length: Math.max(0, b.length - 1) }, (_, i) => i + 1),
      ).ok,
    ).toBe(true);
  });

  it('random valid texts split at random points are accepted; one bad byte anywhere is refused', () => {
    const r = rng(7);
    const alphabet = ['a', 'é', '✓', '😀', '\u0800', '\u{10ffff}', ' '];
    for (let n = 0; n < 300; n++) {
      let s = '';
      const len = Math.floor(r() * 12);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      const b = Buffer.from(s);
      const cuts = [
        ...new Set(Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * (b.length + 1)))),
      ].sort((x, y) => x - y);
      expect(fragments(b, cuts).ok).toBe(true);
      if (b.length === 0) continue;
      const bad = Buffer.from(b);
      // 0xff never appears in UTF-8; a stray continuation byte after ASCII is invalid too.
      bad[Math.floor(r() * bad.length)] = 0xff;
      const res = fragments(bad, cuts);
      expect(res.ok).toBe(false);
    }
  });

  it('a refused fragment leaves the message as it was: nothing written for it', () => {
    const out = new PassThrough();
    const frames: Buffer[] = [];
    out.on('data', (c: Buffer) => frames.push(c));
    const s = new Sender(out, null);
    s.sendData(Buffer.from([0xe2, 0x9c]), { binary: false, fin: false });
    expect(() => s.sendData(Buffer.from([0x41]), { binary: false, fin: true })).toThrow();
    expect(frames).toHaveLength(1);
    expect(s.inMessage).toBe(true);
    s.sendData(Buffer.from([0x93]), { binary: false, fin: true });
    expect(frames).toHaveLength(2);
    expect(s.inMessage).toBe(false);
    // The second frame is a continuation (opcode 0) with FIN.
    expect(frames[1]![0]).toBe(0x80);
  });
});
