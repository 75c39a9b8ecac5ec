/**
 * A link closing while an operation on it is in flight. Whichever order the module's close report
 * and the operation's answer arrive in, the socket must settle: 'close' is emitted, and bytes that
 * never left are an ERR_LINK_CLOSED error, never dropped silently. The interposer replays each
 * order deterministically.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModemSocket } from '../../src/modem/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { startTlsEchoServer, type TestServer } from '../helpers/servers.js';
import { echoThrough, firstEvent, openInterposed, useEchoServer, waitFor } from './helpers.js';

const bed = useEchoServer();
const { cleanup } = bed;
let tlsEcho: TestServer;
let pki: TestPki;
beforeAll(async () => {
  pki = makeTestPki();
  tlsEcho = await startTlsEchoServer(pki.serverCert, pki.serverKey);
});
afterAll(async () => {
  await tlsEcho.close();
});

type Variant = 'plain' | 'tls';

/** A server that reads and never answers, so the module holds nothing unread for the link. */
async function startSink(variant: Variant): Promise<number> {
  const onConn = (c: net.Socket) => {
    c.on('error', () => undefined);
    c.resume();
  };
  const server =
    variant === 'tls'
      ? tls.createServer({ cert: pki.serverCert, key: pki.serverKey }, onConn)
      : net.createServer(onConn);
  const sockets = new Set<net.Socket>();
  server.on(variant === 'tls' ? 'secureConnection' : 'connection', (c: net.Socket) => sockets.add(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

async function open(rxMode: 'push' | 'pull', variant: Variant) {
  const { mock, modem, wire } = await openInterposed(cleanup, rxMode, variant);
  const connect = (): ModemSocket =>
    variant === 'tls'
      ? modem.connect('localhost', tlsEcho.port, { tls: 'modem', ca: pki.caCert })
      : modem.connect('127.0.0.1', bed.echo.port);
  return { mock, modem, wire, connect };
}

/** What the module reports when the peer closes the link (the quirk: TLS closes as CLOSE OK). */
const closeLine = (variant: Variant, link: number) => (variant === 'tls' ? `${link}, CLOSE OK` : `${link}, CLOSED`);

/** Records what a socket emits until it closes. */
function watch(s: ModemSocket) {
  const events: string[] = [];
  const codes: Array<string | undefined> = [];
  for (const ev of ['end', 'finish', 'close']) s.on(ev, () => events.push(ev));
  s.on('error', (e: Error & { code?: string }) => codes.push(e.code));
  return { events, codes, closed: () => waitFor(() => events.includes('close'), 10_000, "the socket's close event") };
}

/** A new socket on the same modem still echoes: the link slot was freed and the channel is in step. */
async function stillWorks(connect: () => ModemSocket): Promise<void> {
  const s = connect();
  await once(s, 'connect');
  const r = await echoThrough(s, 20_000);
  expect(r.received).toBe(r.sent);
  s.destroy();
}

describe.each(['push', 'pull'] as const)('%s mode', (rxMode) => {
  describe.each(['plain', 'tls'] as const)('%s link', (variant) => {
    describe.each(['before', 'after'] as const)("the peer's close reported %s the send's error", (order) => {
      it('a send in flight when the peer closes fails the socket with ERR_LINK_CLOSED and it closes', async () => {
        const { mock, wire, connect } = await open(rxMode, variant);
        const s = connect();
        await once(s, 'connect');
        s.resume();
        const w = watch(s);
        const closed = closeLine(variant, s.link);
        // The CIPSEND is on its way (written by the host) but reaches the module after the close.
        wire.holdCommand(`AT+CIPSEND=${s.link},`, closed);
        if (order === 'after') wire.holdLine(closed, '+CME ERROR: 3');
        s.write(Buffer.alloc(24, 1));
        mock.closePeer(s.link);
        await w.closed();
        expect(mock.commands()).toContain(`AT+CIPSEND=${s.link},24`);
        const seen = [wire.hostLines.indexOf(closed), wire.hostLines.indexOf('+CME ERROR: 3')];
        expect(seen.every((i) => i >= 0)).toBe(true);
        expect(order === 'before' ? seen[0]! < seen[1]! : seen[0]! > seen[1]!).toBe(true);
        // The 24 bytes never reached the peer: said once, with the stable code.
        expect(w.codes).toEqual(['ERR_LINK_CLOSED']);
        expect(s.bytesWritten).toBe(0);
        await stillWorks(connect);
      });
    });

    it('a send the module accepts before it reports the close ends the socket without an error', async () => {
      const { mock, modem, wire, connect } = await open(rxMode, variant);
      // Nothing comes back: in pull mode unread data would delay the close report (plain) or be
      // discarded by it (TLS), which is another test.
      const port = await startSink(variant);
      const s =
        variant === 'tls'
          ? modem.connect('localhost', port, { tls: 'modem', ca: pki.caCert })
          : modem.connect('127.0.0.1', port);
      await once(s, 'connect');
      s.resume();
      const w = watch(s);
      // The module accepted the bytes, but its answer reaches the host after the close report.
      const accepted = `DATA ACCEPT:${s.link},24`;
      wire.holdLine(accepted, closeLine(variant, s.link));
      s.write(Buffer.alloc(24, 1));
      await waitFor(() => wire.moduleLines.includes(accepted), 10_000, 'the module to accept the send');
      expect(s.bytesWritten).toBe(0);
      mock.closePeer(s.link);
      await w.closed();
      expect(s.bytesWritten).toBe(24);
      expect(w.codes).toEqual([]);
      expect(w.events).toEqual(expect.arrayContaining(['end', 'finish']));
      await stillWorks(connect);
    });
  });
});

describe('other operations in flight when a link closes', () => {
  it('pull: a read in flight when a TLS peer close discards the unread data fails the socket with ERR_LINK_CLOSED', async () => {
    const { mock, wire, connect } = await open('pull', 'tls');
    const s = connect();
    await once(s, 'connect');
    const w = watch(s);
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    // The module announces data; the host's CIPRXGET reaches it only after the close discarded it.
    wire.holdCommand(`AT+CIPRXGET=2,${s.link},`, `${s.link}, CLOSE OK`);
    s.write(Buffer.alloc(100, 7));
    await waitFor(() => wire.moduleLines.includes(`+CIPRXGET: 1,${s.link}`), 10_000, 'the data announcement');
    mock.closePeer(s.link);
    await w.closed();
    expect(mock.commands().some((c) => c.startsWith(`AT+CIPRXGET=2,${s.link},`))).toBe(true);
    expect(Buffer.concat(got).length).toBe(0);
    expect(w.codes).toEqual(['ERR_LINK_CLOSED']);
    await stillWorks(connect);
  });

  it('pull: a peer close while data waits in the module ends the socket after every byte was read', async () => {
    const sent = Buffer.alloc(5000, 9);
    // The peer echoes only once it has every byte, and closes right behind its answer: the FIN
    // reaches the module while the echoed bytes still wait there (the host reads 1460 per AT
    // exchange). Closing from the test at the first read instead raced the host's own sends:
    // under load the close came before the last CIPSENDs, which then rightly failed.
    const peer = net.createServer((c) => {
      c.on('error', () => undefined);
      const parts: Buffer[] = [];
      let n = 0;
      c.on('data', (b: Buffer) => {
        parts.push(b);
        n += b.length;
        if (n >= sent.length) c.end(Buffer.concat(parts));
      });
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => peer.close(() => r())));
    const { modem, mock } = await open('pull', 'plain');
    const s = modem.connect('127.0.0.1', (peer.address() as AddressInfo).port);
    await once(s, 'connect');
    const w = watch(s);
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    s.write(sent);
    await w.closed();
    expect(w.codes).toEqual([]);
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    // Every byte went out and came back through pull reads, and the close came after the last one.
    const cmds = mock.commands();
    expect(
      cmds.filter((c) => c.startsWith(`AT+CIPSEND=${s.link},`)).reduce((t, c) => t + Number(c.split(',')[1]), 0),
    ).toBe(sent.length);
    expect(cmds.filter((c) => c.startsWith(`AT+CIPRXGET=2,${s.link},`)).length).toBeGreaterThanOrEqual(
      Math.ceil(sent.length / 1460),
    );
    const text = mock.sentText();
    expect(text.indexOf(`${s.link}, CLOSED`)).toBeGreaterThan(text.lastIndexOf(`+CIPRXGET: 2,${s.link},`));
  });

  it.each(['plain', 'tls'] as const)(
    '%s: end() whose CIPCLOSE meets a peer close settles and frees the link',
    async (variant) => {
      const { mock, wire, connect } = await open('push', variant);
      const s = connect();
      await once(s, 'connect');
      s.resume();
      const w = watch(s);
      const closed = closeLine(variant, s.link);
      // The CIPCLOSE is written but reaches the module after it reported the peer's close.
      wire.holdCommand(`AT+CIPCLOSE=${s.link}`, closed);
      s.end();
      await waitFor(() => w.events.includes('finish'), 10_000, 'finish');
      mock.closePeer(s.link);
      await w.closed();
      await waitFor(() => mock.commands().includes(`AT+CIPCLOSE=${s.link}`), 10_000, 'the CIPCLOSE');
      expect(w.codes).toEqual([]);
      await stillWorks(connect);
      // Six sockets at once: no link id stayed reserved by the raced close.
      const all = Array.from({ length: 6 }, connect);
      await Promise.all(all.map((x) => firstEvent(x, ['connect'], 20_000)));
      for (const x of all) x.destroy();
    },
  );

  it("tls: the answer to a CIPCLOSE crossed by the peer's close does not reach the next command", async () => {
    // A TLS peer close is reported as `<n>, CLOSE OK`, the line that also answers CIPCLOSE: when the
    // two cross, the module's real answer (+CME ERROR: 3) comes after our command has ended. A send
    // on another, healthy link queued right behind must not take that error as its own.
    const { mock, wire, connect } = await open('push', 'tls');
    const a = connect();
    const b = connect();
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    a.resume();
    const wa = watch(a);
    const wb = watch(b);
    const got: Buffer[] = [];
    b.on('data', (d: Buffer) => got.push(d));
    const closed = closeLine('tls', a.link);
    wire.holdCommand(`AT+CIPCLOSE=${a.link}`, closed);
    a.end();
    await waitFor(() => wire.holdingCommand, 10_000, 'the CIPCLOSE to be written');
    // Queued behind the CIPCLOSE in the host's FIFO.
    const sent = Buffer.alloc(300, 0x42);
    b.write(sent);
    mock.closePeer(a.link);
    await wa.closed();
    await waitFor(() => Buffer.concat(got).length >= sent.length, 10_000, 'the echo on the other link');
    // The crossing happened: the module refused the CIPCLOSE after reporting the close.
    expect(wire.hostLines.indexOf(closed)).toBeLessThan(wire.hostLines.indexOf('+CME ERROR: 3'));
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    expect(wa.codes).toEqual([]);
    expect(wb.codes).toEqual([]);
    expect(b.destroyed).toBe(false);
    b.destroy();
  });
});
