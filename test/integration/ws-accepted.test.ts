/**
 * A websocket send over the module completes when the module accepted the frame's bytes
 * (`DATA ACCEPT`), not when they were queued on the host: the module's answer is held on the wire
 * to tell the two apart. Bytes that never reach the module fail the send with a coded error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type DeliveryTracker } from '../../src/modem/index.js';
import { websocket, WebSocketClient } from '../../src/ws/index.js';
import { Interposer } from '../modem/interpose.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer, FAST, recordLuat, startWsEcho, type WsPeer } from './helpers.js';

type CodedError = Error & { code?: string };
type TrackedStream = Duplex & { delivery: DeliveryTracker; link: number };

let peer: WsPeer;
beforeAll(async () => {
  peer = await startWsEcho();
});
afterAll(async () => {
  await peer.close();
});

/** Bytes of a masked client frame carrying `n` payload bytes. */
const frameSize = (n: number): number => n + 4 + (n < 126 ? 2 : n < 65536 ? 4 : 10);

/**
 * A client over a mock module with an interposer on the wire; `stream` is the link under it (with
 * `tls`, the host TLS socket over it, which carries the link's tracker).
 */
async function open(rxMode: 'push' | 'pull' = 'push', tls?: { port: number; ca: string }) {
  const mock = new MockModem();
  defer(() => mock.close());
  const wire = new Interposer(mock.hostStream());
  const modem = await Modem.open({ stream: wire.host, ...FAST, rxMode });
  defer(() => modem.close());
  let stream: TrackedStream | undefined;
  const url = tls ? `wss://localhost:${tls.port}/` : `ws://127.0.0.1:${peer.port}/`;
  const client = new WebSocketClient(url, {
    connect: async (t) =>
      (stream = (await modem.openStream(
        t.host,
        t.port,
        tls ? { tls: 'host', ca: tls.ca, servername: t.servername } : {},
      )) as TrackedStream),
    perMessageDeflate: false,
    keepaliveMs: 0,
    handshakeTimeoutMs: 15_000,
  });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  defer(() => client.terminate());
  await client.opened();
  const messages: Array<string | Buffer> = [];
  client.on('message', (d) => messages.push(d));
  return { mock, wire, modem, client, stream: stream!, messages, errors };
}

/** Sends and records each callback call (its error code, or 'ok'). */
function sendRecorded(client: WebSocketClient, data: string | Buffer, calls: string[]): void {
  client.send(data, {}, (err?: CodedError) => calls.push(err ? String(err.code) : 'ok'));
}

async function until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('websocket send over the module completes on DATA ACCEPT', () => {
  it('the callback waits for the DATA ACCEPT although the stream write completed (and the echo came back)', async () => {
    const { wire, client, stream, messages } = await open();
    const size = frameSize(5);
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${stream.link},${size}`);
    const base = stream.delivery.bytesQueued;
    const calls: string[] = [];
    sendRecorded(client, 'hello', calls);
    // The module accepted it and sent it on: the server's echo arrives while its answer is held.
    await until(() => messages.length === 1, 'the echo');
    expect(messages[0]).toBe('hello');
    expect(hold.seen).toBe(true);
    expect(stream.writableLength).toBe(0); // the stream's write callback has run
    expect(stream.delivery.bytesQueued).toBe(base + size);
    expect(calls).toEqual([]);
    hold.release();
    await until(() => calls.length > 0, 'the send callback');
    expect(calls).toEqual(['ok']);
    expect(stream.delivery.bytesAccepted).toBe(base + size);
  });

  it('sendAsync resolves on acceptance by default (and for the deprecated "written")', async () => {
    const { wire, client, stream } = await open();
    for (const waitFor of [undefined, 'written'] as const) {
      const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${stream.link},${frameSize(3)}`);
      let settled = false;
      const p = client.sendAsync('abc', waitFor ? { waitFor } : {}).finally(() => (settled = true));
      await until(() => hold.seen, 'the module to accept');
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBe(false);
      hold.release();
      await p;
    }
  });

  it('a 5000-byte message (4 CIPSENDs) completes only after the last chunk is accepted', async () => {
    const { wire, client, stream } = await open();
    const total = frameSize(5000);
    const last = total - 3 * 1460;
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${stream.link},${last}`);
    const base = stream.delivery.bytesAccepted;
    const calls: string[] = [];
    sendRecorded(client, Buffer.alloc(5000, 9), calls);
    await until(() => hold.seen, 'the last chunk accepted by the module');
    await until(() => stream.delivery.bytesAccepted === base + 3 * 1460, 'the first three chunks');
    expect(wire.hostLines.filter((l) => l === `DATA ACCEPT:${stream.link},1460`)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([]);
    hold.release();
    await until(() => calls.length > 0, 'the send callback');
    expect(calls).toEqual(['ok']);
  });

  it('many messages in flight: each callback once, in order, never before its bytes were accepted', async () => {
    const { client, stream, messages } = await open();
    const sizes = Array.from({ length: 60 }, (_, i) => [0, 1, 125, 126, 700, 1459, 1460, 3000, 70_000][i % 9]!);
    let end = stream.delivery.bytesQueued;
    const ends = sizes.map((n) => (end += frameSize(n)));
    const calls: Array<{ i: number; err?: string; accepted: number }> = [];
    sizes.forEach((n, i) => {
      client.send(Buffer.alloc(n, i), {}, (err?: CodedError) => {
        calls.push({ i, ...(err ? { err: String(err.code) } : {}), accepted: stream.delivery.bytesAccepted });
      });
    });
    await until(
      () => calls.length === sizes.length && messages.length === sizes.length,
      'every callback and echo',
      30_000,
    );
    await new Promise((r) => setTimeout(r, 50)); // a second call would show up here
    expect(calls.map((c) => c.i)).toEqual(sizes.map((_, i) => i));
    expect(calls.filter((c) => c.err)).toEqual([]);
    for (const c of calls) expect(c.accepted).toBeGreaterThanOrEqual(ends[c.i]!);
  });

  it('the peer closes the link before the module got the frame: the callback gets ERR_LINK_CLOSED', async () => {
    const { mock, wire, client, stream } = await open();
    wire.holdCommand(`AT+CIPSEND=${stream.link},`, `${stream.link}, CLOSED`);
    const calls: string[] = [];
    sendRecorded(client, Buffer.alloc(2000, 3), calls); // 2 CIPSENDs
    sendRecorded(client, 'queued behind', calls);
    await until(() => wire.holdingCommand, 'the CIPSEND to be written');
    mock.closePeer(stream.link);
    await until(() => calls.length === 2, 'both callbacks');
    expect(calls).toEqual(['ERR_LINK_CLOSED', 'ERR_LINK_CLOSED']);
    expect(stream.delivery.bytesAccepted).toBeLessThan(stream.delivery.bytesQueued);
    await until(() => client.state === 'closed', 'the close');
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(2);
  });

  it('the module reboots before confirming: the callback gets ERR_MODEM_RESET, not success', async () => {
    const { mock, client, stream } = await open();
    const base = stream.delivery.bytesAccepted; // the handshake request
    mock.swallowNextFinal(); // the module never confirms this CIPSEND
    const calls: string[] = [];
    sendRecorded(client, 'unconfirmed', calls);
    sendRecorded(client, Buffer.alloc(3000), calls);
    await until(() => mock.commands().some((c) => c.startsWith(`AT+CIPSEND=${stream.link},`)), 'the CIPSEND');
    expect(calls).toEqual([]);
    mock.reboot({ delayMs: 50 });
    await until(() => calls.length === 2, 'both callbacks', 20_000);
    expect(calls).toEqual(['ERR_MODEM_RESET', 'ERR_MODEM_RESET']);
    expect(stream.delivery.bytesAccepted).toBe(base);
  });

  it('terminate() with a frame unconfirmed: ERR_LINK_CLOSED', async () => {
    const { wire, client, stream } = await open();
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${stream.link},${frameSize(4)}`);
    const calls: string[] = [];
    sendRecorded(client, 'last', calls);
    await until(() => hold.seen, 'the module to accept');
    client.terminate();
    await until(() => calls.length === 1, 'the callback');
    expect(calls).toEqual(['ERR_LINK_CLOSED']);
  });

  it('terminate() with frames on the host, some held past the link high-water mark: every callback once, in send order', async () => {
    const { wire, client, stream } = await open();
    // The module never sees the CIPSEND: the first frames wait for acceptance, later writes are
    // held by the socket (its queue is over the high-water mark) or buffered by the stream.
    wire.holdCommand(`AT+CIPSEND=${stream.link},`, 'NEVER-RELEASED');
    const calls: Array<[number, string]> = [];
    const acks: Array<[number, string]> = [];
    for (let i = 0; i < 10; i++) {
      client.send(
        Buffer.alloc(2000, i),
        { onAcked: (err?: CodedError) => acks.push([i, err ? String(err.code) : 'ok']) },
        (err?: CodedError) => calls.push([i, err ? String(err.code) : 'ok']),
      );
    }
    await until(() => wire.holdingCommand, 'the CIPSEND to be written');
    expect(stream.writableLength).toBeGreaterThan(0); // some writes are held on the host
    expect(calls).toEqual([]);
    client.terminate();
    await until(() => calls.length === 10 && acks.length === 10, 'every callback');
    await new Promise((r) => setTimeout(r, 50)); // a second call would show up here
    expect(calls.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(acks.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(calls.filter(([, r]) => r === 'ok')).toEqual([]);
    expect(acks.filter(([, r]) => r === 'ok')).toEqual([]);
  });

  it('host TLS (wss): the callback waits until the module accepted the ciphertext', async () => {
    const pki = makeTestPki();
    const secure = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
    defer(() => secure.close());
    const { mock, wire, client, stream } = await open('push', { port: secure.port, ca: pki.caCert });
    // The module gets the CIPSEND only once the test puts a line on the wire.
    wire.holdCommand('AT+CIPSEND=', 'RELEASE-CIPSEND');
    const calls: string[] = [];
    sendRecorded(client, 'through tls', calls);
    await until(() => wire.holdingCommand, 'the CIPSEND to be written');
    expect(stream.writableLength).toBe(0); // the TLS socket's write completed
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([]);
    mock.injectNoise(Buffer.from('\r\nRELEASE-CIPSEND\r\n'));
    await until(() => calls.length > 0, 'the send callback');
    expect(calls).toEqual(['ok']);
    expect(stream.delivery.bytesAccepted).toBe(stream.delivery.bytesQueued);
  });

  it('LuatOS: a message the module never accepted gives error "tx" before disconnect, and no "sent"', async () => {
    const mock = new MockModem();
    defer(() => mock.close());
    const wire = new Interposer(mock.hostStream());
    const modem = await Modem.open({ stream: wire.host, ...FAST, rxMode: 'push' });
    defer(() => modem.close());
    const wsc = websocket.create(modem, `ws://127.0.0.1:${peer.port}/`, 0)!;
    defer(() => wsc.close());
    const rec = recordLuat(wsc);
    wsc.connect();
    await rec.waitFor('conack');
    expect(wsc.send('delivered')).toBe(true);
    await rec.waitFor('sent');
    const link = mock
      .commands()
      .map((c) => /^AT\+CIPSTART=(\d),/.exec(c))
      .find(Boolean)![1]!;
    wire.holdCommand(`AT+CIPSEND=${link},`, `${link}, CLOSED`);
    expect(wsc.send('never accepted')).toBe(true);
    expect(wsc.send('never accepted either')).toBe(true);
    await until(() => wire.holdingCommand, 'the CIPSEND to be written');
    mock.closePeer(Number(link));
    await rec.waitFor('disconnect');
    const after = rec.events.slice(rec.events.findIndex((e) => e.event === 'sent') + 1);
    // Then the unclean close's own error and disconnect, as for any lost link.
    expect(after.map((e) => [e.event, e.data])).toEqual([
      ['error', 'tx'],
      ['error', 'connect'],
      ['disconnect', undefined],
    ]);
    expect((after[0]!.payload as CodedError).code).toBe('ERR_LINK_CLOSED');
  });
});
