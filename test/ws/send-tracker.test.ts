/**
 * The send callback on a stream that carries a delivery tracker (the module path) waits for the
 * tracker's acceptance of the frame's end offset; a tracker without `waitAccepted` (written before
 * it existed) and a plain stream complete on write. Here the tracker is a fake over a loopback
 * socket, so the offsets the client asks for can be checked byte for byte.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../src/ws/index.js';
import { startWsEcho, type WsPeer } from './peers.js';

let peer: WsPeer;
beforeAll(async () => {
  peer = await startWsEcho({ perMessageDeflate: false });
});
afterAll(async () => {
  await peer.close();
});

/** A tracker whose acceptance the test grants by hand; offsets are the socket's written bytes. */
class FakeTracker {
  accepted = 0;
  asked: number[] = [];
  private waiters: Array<{ offset: number; resolve: () => void; reject: (e: Error) => void }> = [];
  constructor(private readonly socket: net.Socket) {}
  get bytesQueued(): number {
    return this.socket.bytesWritten;
  }
  get bytesAccepted(): number {
    return this.accepted;
  }
  waitAccepted(offset: number): Promise<void> {
    this.asked.push(offset);
    if (offset <= this.accepted) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ offset, resolve, reject }));
  }
  waitAcked(): Promise<void> {
    return Promise.resolve();
  }
  accept(upTo: number): void {
    this.accepted = upTo;
    for (const w of this.waiters.filter((x) => x.offset <= upTo)) w.resolve();
    this.waiters = this.waiters.filter((x) => x.offset > upTo);
  }
  fail(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}

async function clientWith(delivery: (s: net.Socket) => object | undefined) {
  let socket: net.Socket | undefined;
  let tracker: object | undefined;
  const client = new WebSocketClient(`ws://127.0.0.1:${peer.port}/`, {
    perMessageDeflate: false,
    keepaliveMs: 0,
    connect: async (t) => {
      const s = net.connect(t.port, t.host);
      await once(s, 'connect');
      socket = s;
      tracker = delivery(s);
      if (tracker) Object.assign(s, { delivery: tracker });
      return s;
    },
  });
  client.on('error', () => undefined);
  await client.opened();
  return { client, socket: socket!, tracker };
}

const drained = (s: net.Socket) =>
  new Promise<void>((r) => (s.writableLength === 0 ? r() : s.once('drain', () => r())));

describe('send callback with a delivery tracker', () => {
  it('waits for acceptance of the frame end offset, in order, once each', async () => {
    const { client, socket, tracker } = await clientWith((s) => new FakeTracker(s));
    const fake = tracker as FakeTracker;
    const base = socket.bytesWritten;
    const calls: Array<number | string> = [];
    client.send('a', {}, (e) => calls.push(e ? 'err' : 1)); // 2 + 4 + 1 = 7 bytes
    client.send(Buffer.alloc(200), {}, (e) => calls.push(e ? 'err' : 2)); // 4 + 4 + 200 = 208
    while (fake.asked.length < 2) await new Promise((r) => setTimeout(r, 5));
    await drained(socket);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([]);
    // Offsets asked for are never short of the frame's end (they may include later frames).
    expect(fake.asked[0]).toBeGreaterThanOrEqual(base + 7);
    expect(fake.asked[1]).toBe(base + 7 + 208);
    fake.accept(base + 7 + 208);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([1, 2]);
    const failed = client.sendAsync('lost');
    while (fake.asked.length < 3) await new Promise((r) => setTimeout(r, 5));
    fake.fail(Object.assign(new Error('gone'), { code: 'ERR_LINK_CLOSED' }));
    await expect(failed).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED' });
    expect(calls).toEqual([1, 2]);
    client.terminate();
  });

  it('a send refused for bad text between two sends does not hold up the later callback', async () => {
    const { client, socket, tracker } = await clientWith((s) => new FakeTracker(s));
    const fake = tracker as FakeTracker;
    const calls: string[] = [];
    client.send('a', {}, (e) => calls.push(e ? 'err a' : 'a'));
    expect(() => client.send(Buffer.from([0xff]), { binary: false }, () => calls.push('refused'))).toThrow(
      expect.objectContaining({ code: 'ERR_WS_INVALID_UTF8' }),
    );
    client.send('b', {}, (e) => calls.push(e ? 'err b' : 'b'));
    while (fake.asked.length < 2) await new Promise((r) => setTimeout(r, 5));
    await drained(socket);
    fake.accept(socket.bytesWritten);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['a', 'b']);
    client.terminate();
  });

  it('a tracker without waitAccepted, or none at all: the callback runs on write completion', async () => {
    for (const make of [
      (s: net.Socket) => ({
        get bytesQueued() {
          return s.bytesWritten;
        },
        waitAcked: () => Promise.resolve(),
      }),
      () => undefined,
    ]) {
      const { client } = await clientWith(make);
      await client.sendAsync('x');
      await client.sendAsync('y', { waitFor: 'acked' });
      client.terminate();
    }
  });
});
