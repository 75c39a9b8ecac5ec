/**
 * A send the module refuses because the peer already closed the link fails only the sending side:
 * everything the peer sent before its FIN still reaches the reader, then 'end', then the
 * ERR_LINK_CLOSED error for the unsent bytes, then 'close' (hadError). A websocket answering a
 * ping that races the server's close is the case that matters: the data and close frame behind
 * the ping must not be thrown away because the pong could not be sent.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModemSocket, type ModemSocket as ModemSocketType } from '../../src/modem/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { echoThrough, openInterposed, sha256, useEchoServer, waitFor } from './helpers.js';

const bed = useEchoServer();
const { cleanup } = bed;
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

type Variant = 'plain' | 'tls';
type CodedError = Error & { code?: string };

/** A server that keeps each connection until the test tells it what to send before its FIN. */
async function startPeer(variant: Variant): Promise<{ port: number; connection: () => Promise<net.Socket> }> {
  const conns: net.Socket[] = [];
  const onConn = (c: net.Socket) => {
    c.on('error', () => undefined);
    c.resume();
    conns.push(c);
  };
  const server =
    variant === 'tls' ? tls.createServer({ cert: pki.serverCert, key: pki.serverKey }) : net.createServer();
  server.on(variant === 'tls' ? 'secureConnection' : 'connection', onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    connection: async () => {
      await waitFor(() => conns.length > 0, 10_000, 'the peer to accept');
      return conns[0]!;
    },
  };
}

async function open(rxMode: 'push' | 'pull', variant: Variant) {
  const { mock, modem, wire } = await openInterposed(cleanup, rxMode, variant);
  const connect = (port: number): ModemSocketType =>
    variant === 'tls'
      ? modem.connect('localhost', port, { tls: 'modem', ca: pki.caCert })
      : modem.connect('127.0.0.1', port);
  return { mock, modem, wire, connect };
}

/** Records, in order, 'end', 'finish', 'error:<code>' and 'close:<hadError>'. */
function record(s: NodeJS.EventEmitter): string[] {
  const events: string[] = [];
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('error', (e: CodedError) => events.push(`error:${e.code}`));
  s.on('close', (hadError: boolean) => events.push(`close:${hadError}`));
  return events;
}

/** Writes and resolves with what the write's callback got (undefined on success). */
function writeCb(s: ModemSocketType, data: Buffer): Promise<CodedError | undefined> {
  return new Promise((resolve) => s.write(data, (err) => resolve((err ?? undefined) as CodedError | undefined)));
}

function reject<T>(p: Promise<T>): Promise<CodedError | undefined> {
  return p.then(
    () => undefined,
    (e: CodedError) => e,
  );
}

/**
 * Reads `s` to its close: every byte the peer sent arrives, then 'end', then ERR_LINK_CLOSED for
 * the unsent bytes, then 'close' with an error. `events` is {@link record}'s list for `s`.
 */
async function expectPeerDataThenLinkClosed(s: ModemSocketType, events: string[], data: Buffer): Promise<void> {
  const got: Buffer[] = [];
  s.on('data', (b: Buffer) => got.push(b));
  await waitFor(() => events.some((e) => e.startsWith('close')), 10_000, "the socket's close");
  expect(sha256(Buffer.concat(got))).toBe(sha256(data));
  expect(events).toEqual(['end', 'error:ERR_LINK_CLOSED', 'close:true']);
}

/** A new socket on the same modem still echoes: the link was freed and the channel is in step. */
async function stillWorks(connect: (port: number) => ModemSocketType, variant: Variant): Promise<void> {
  if (variant === 'tls') return; // the echo server of this file is plain; close-races covers TLS reuse
  const s = connect(bed.echo.port);
  await once(s, 'connect');
  const r = await echoThrough(s, 20_000);
  expect(r.received).toBe(r.sent);
  s.destroy();
}

describe('push mode: a send refused after the peer closed', () => {
  it.each(['plain', 'tls'] as const)(
    '%s: the reader gets every byte the peer sent, then end, then ERR_LINK_CLOSED, then close',
    async (variant) => {
      const peer = await startPeer(variant);
      const { wire, connect } = await open('push', variant);
      const s = connect(peer.port);
      await once(s, 'connect');
      const conn = await peer.connection();
      const events = record(s);
      const closed = variant === 'tls' ? `${s.link}, CLOSE OK` : `${s.link}, CLOSED`;
      // The pong is on its way to the module but reaches it after the peer's data and FIN.
      wire.holdCommand(`AT+CIPSEND=${s.link},`, closed);
      const first = writeCb(s, Buffer.from('pong'));
      await waitFor(() => wire.holdingCommand, 10_000, 'the CIPSEND to be written');
      const data = randomBytes(40_000);
      conn.end(data);
      await waitFor(() => wire.hostLines.includes('+CME ERROR: 3'), 10_000, 'the refused send');
      expect(wire.hostLines.indexOf(closed)).toBeLessThan(wire.hostLines.indexOf('+CME ERROR: 3'));
      // Nothing read yet (no 'data' listener): the bytes wait in the readable buffer.
      expect(s.destroyed).toBe(false);
      expect(events).toEqual([]);
      const later = writeCb(s, Buffer.from('later'));
      const acked = reject(s.delivery.waitAcked(4, { timeoutMs: 20_000 }));
      await expectPeerDataThenLinkClosed(s, events, data);
      expect(await first).toBeUndefined(); // taken into the send queue at once, as net.Socket does
      expect((await later)?.code).toBe('ERR_LINK_CLOSED');
      expect((await acked)?.code).toBe('ERR_LINK_CLOSED');
      expect(s.bytesWritten).toBe(0);
      await stillWorks(connect, variant);
    },
  );

  it('a send refused without a peer close still destroys the socket at once', async () => {
    const peer = await startPeer('plain');
    const { wire, connect } = await open('push', 'plain');
    const s = connect(peer.port);
    await once(s, 'connect');
    const conn = await peer.connection();
    const events = record(s);
    const closed = `${s.link}, CLOSED`;
    // The refusal reaches the host before the close report: the host cannot tell it from a link
    // the module refuses for another reason, so nothing more is expected from it.
    wire.holdCommand(`AT+CIPSEND=${s.link},`, closed);
    wire.holdLine(closed, '+CME ERROR: 3');
    const first = writeCb(s, Buffer.from('pong'));
    await waitFor(() => wire.holdingCommand, 10_000, 'the CIPSEND to be written');
    conn.end(Buffer.alloc(10, 1));
    await waitFor(() => events.some((e) => e.startsWith('close')), 10_000, "the socket's close");
    expect(events).toEqual(['error:ERR_LINK_CLOSED', 'close:true']);
    expect(await first).toBeUndefined();
    await stillWorks(connect, 'plain');
  });
});

describe('a write after the peer closed', () => {
  it.each(['push', 'pull'] as const)(
    '%s: fails with ERR_LINK_CLOSED after every byte was read, without a write-after-end',
    async (rxMode) => {
      const peer = await startPeer('plain');
      const { mock, wire, connect } = await open(rxMode, 'plain');
      const s = connect(peer.port);
      await once(s, 'connect');
      const conn = await peer.connection();
      const events = record(s);
      const data = randomBytes(30_000);
      conn.end(data);
      // Nothing read yet: the bytes wait in the readable buffer (pull: the host read them all, the
      // module then reported the close).
      await waitFor(() => wire.hostLines.includes(`${s.link}, CLOSED`), 10_000, 'the close report');
      const late = writeCb(s, Buffer.from('pong'));
      await new Promise((r) => setImmediate(r));
      expect(s.destroyed).toBe(false);
      expect(mock.commands().some((c) => c.startsWith('AT+CIPSEND'))).toBe(false);
      await expectPeerDataThenLinkClosed(s, events, data);
      expect((await late)?.code).toBe('ERR_LINK_CLOSED');
      await stillWorks(connect, 'plain');
    },
  );
});

describe('pull mode: a send refused while the module still holds what the peer sent before its FIN', () => {
  it('reads go on until the module is drained (left 0), every byte arrives, then end, ERR_LINK_CLOSED, close', async () => {
    const peer = await startPeer('plain');
    const { mock, wire, connect } = await open('pull', 'plain');
    const s = connect(peer.port);
    await once(s, 'connect');
    const conn = await peer.connection();
    const events = record(s);
    // The reader is paused: the host reads up to its 64 KiB mark and stops; the module keeps the
    // rest with the FIN behind it (REMOTE CLOSING: the module reports CLOSED only once drained,
    // and refuses sends meanwhile).
    const data = randomBytes(100_000);
    conn.end(data);
    await waitFor(() => mock.linkState(s.link) === 'REMOTE CLOSING', 10_000, 'the FIN to reach the module');
    const reads = () => wire.hostLines.filter((l) => l.startsWith(`+CIPRXGET: 2,${s.link},`));
    const left = (l: string) => Number(l.split(',').at(-1));
    await waitFor(() => s.readableLength >= 64 * 1024 && reads().length > 0, 10_000, 'the host to stop reading');
    expect(left(reads().at(-1)!)).toBeGreaterThan(0);
    const first = writeCb(s, Buffer.from('pong'));
    await waitFor(() => wire.hostLines.includes('+CME ERROR: 3'), 10_000, 'the refused send');
    expect(wire.hostLines).not.toContain(`${s.link}, CLOSED`);
    expect(s.destroyed).toBe(false);
    const later = writeCb(s, Buffer.from('later'));
    const acked = reject(s.delivery.waitAcked(4, { timeoutMs: 20_000 }));
    await expectPeerDataThenLinkClosed(s, events, data);
    expect(await first).toBeUndefined();
    expect((await later)?.code).toBe('ERR_LINK_CLOSED');
    expect((await acked)?.code).toBe('ERR_LINK_CLOSED');
    // The last read emptied the module, and its close report came after it.
    expect(left(reads().at(-1)!)).toBe(0);
    await stillWorks(connect, 'plain');
  });
});

/**
 * The order the field notes report for a plaintext link (a read served after `<n>, CLOSED`),
 * which the mock does not produce (it withholds CLOSED until drained): the socket driven directly.
 */
describe('pull mode: CLOSED reported while the module still holds data, then the send refused', () => {
  it('the socket drains the module before end, then reports the unsent bytes', async () => {
    const released: boolean[] = [];
    let kicks = 0;
    const s = new ModemSocket(
      {
        rxMode: 'pull',
        open: async () => undefined,
        kick: () => void kicks++,
        release: (_s, closeOnModule) => void released.push(closeOnModule),
        pollAcked: async () => 0,
      },
      { host: '127.0.0.1', port: 1, moduleTls: false, timeoutMs: 1000, pushBufferLimit: 1 << 20 },
    );
    s.link = 3;
    s.connect();
    await once(s, 'connect');
    const events = record(s);
    const later: Array<Promise<CodedError | undefined>> = [];
    const first = writeCb(s, Buffer.from('pong'));
    // The modem's pump: the chunk goes into a CIPSEND; the module announced unread data.
    const chunk = s.takeChunk(1460)!;
    s.state.sendStarted();
    s.state.dataAnnounced();
    s.onPeerClose();
    expect(events).toEqual([]);
    s.state.sendEnded();
    s.onSendLost(chunk.length, new Error('+CME ERROR: 3'));
    expect(s.destroyed).toBe(false);
    later.push(writeCb(s, Buffer.from('later')));
    const acked = reject(s.delivery.waitAcked(4, { timeoutMs: 5000 }));
    const data = randomBytes(5000);
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    // The reads after CLOSED: 1460 at a time until left is 0.
    for (let off = 0; off < data.length; off += 1460) {
      s.state.readStarted();
      await new Promise((r) => setImmediate(r));
      s.state.readFinished(off + 1460 < data.length);
      s.deliver(data.subarray(off, off + 1460));
      if (!s.state.rxAvailable) s.maybeEndPull();
      expect(events.filter((e) => e !== 'end')).toEqual([]);
    }
    await waitFor(() => events.some((e) => e.startsWith('close')), 5000, "the socket's close");
    expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    expect(events).toEqual(['end', 'error:ERR_LINK_CLOSED', 'close:true']);
    expect(await first).toBeUndefined();
    expect((await later[0]!)?.code).toBe('ERR_LINK_CLOSED');
    expect((await acked)?.code).toBe('ERR_LINK_CLOSED');
    // The peer closed: the link is freed without a CIPCLOSE.
    expect(released.length).toBeGreaterThan(0);
    expect(released.every((c) => c === false)).toBe(true);
    expect(kicks).toBeGreaterThan(0);
  });
});
