/**
 * Races of the AT and link layers (issue 18), each on the mock with the fault that shows it:
 * a late `> ` prompt, refused sends and closes, a partial `DATA ACCEPT`, `end()` during a pull
 * read, a peer close under a write-only upload, `+CME ERROR: 65535` to CIPSTART, and a bearer
 * loss reported link by link.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemSocket } from '../../src/modem/index.js';
import { openInterposed, useEchoServer, waitFor } from './helpers.js';

const bed = useEchoServer();
const { cleanup } = bed;
type CodedError = Error & { code?: string; cause?: unknown };

async function openModem(options: { rxMode?: 'push' | 'pull'; commandTimeoutMs?: number } = {}) {
  const mock = new MockModem();
  cleanup.push(() => mock.close());
  const modem = await Modem.open({
    stream: mock.hostStream(),
    reopen: () => mock.hostStream(),
    rxMode: options.rxMode ?? 'push',
    syncIntervalMs: 300,
    pollIntervalMs: 50,
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    recoveryBackoffMs: 100,
  });
  cleanup.push(() => modem.close());
  return { mock, modem };
}

/** A server that keeps every connection and records what each one received. */
async function startPeer(): Promise<{ port: number; conns: net.Socket[]; received: Buffer[][] }> {
  const conns: net.Socket[] = [];
  const received: Buffer[][] = [];
  const server = net.createServer((c) => {
    const got: Buffer[] = [];
    c.on('data', (b: Buffer) => got.push(b));
    c.on('error', () => undefined);
    conns.push(c);
    received.push(got);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, conns, received };
}

async function connected(s: ModemSocket): Promise<ModemSocket> {
  await once(s, 'connect');
  return s;
}

function collect(s: ModemSocket): { data: () => Buffer; events: string[] } {
  const chunks: Buffer[] = [];
  const events: string[] = [];
  s.on('data', (b: Buffer) => chunks.push(b));
  s.on('end', () => events.push('end'));
  s.on('error', (e: CodedError) => events.push(`error:${e.code}`));
  s.on('close', (hadError: boolean) => events.push(`close:${hadError}`));
  return { data: () => Buffer.concat(chunks), events };
}

describe('a CIPSEND whose prompt comes after its timeout', () => {
  it('puts filler into the prompt, never the payload: the payload is not run as a command, and the modem recovers', async () => {
    const { mock, modem } = await openModem({ commandTimeoutMs: 1000 });
    const peer = await startPeer();
    const s = await connected(modem.connect('127.0.0.1', peer.port));
    const seen = collect(s);
    mock.delayNextPrompt(1500);
    s.write('AT+CFUN=0\r');
    await waitFor(() => seen.events.includes('close:true'), 20_000, 'the socket to fail');
    expect(seen.events).toContain('error:ERR_MODEM_RESET');
    await waitFor(() => modem.state === 'online', 30_000, 'the modem to be back online');
    expect(mock.commands()).not.toContain('AT+CFUN=0');
    // The peer got the filler at most, never the payload.
    const got = Buffer.concat(peer.received[0] ?? []).toString('latin1');
    expect(got).toMatch(/^ *$/);
    // The modem works after the recovery.
    const e = await connected(modem.connect('127.0.0.1', bed.echo.port));
    e.write('ping');
    const [back] = (await once(e, 'data')) as [Buffer];
    expect(back.toString()).toBe('ping');
    e.destroy();
  });

  it('bring-up turns the radio back on when it finds it off (AT+CFUN=1)', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const raw = mock.hostStream();
    raw.write('AT+CFUN=0\r');
    await waitFor(() => mock.commands().includes('AT+CFUN=0'), 5000, 'the radio to be turned off');
    await new Promise((r) => setTimeout(r, 100));
    const modem = await Modem.open({
      stream: mock.hostStream(),
      syncIntervalMs: 300,
      pollIntervalMs: 50,
      registrationTimeoutMs: 5000,
    });
    cleanup.push(() => modem.close());
    expect(modem.state).toBe('online');
    expect(mock.commands()).toContain('AT+CFUN=1');
  });
});

describe('a link id is reused only after the module confirms its close', () => {
  it("a refused CIPSEND closes the link on the module; a new socket never gets the old peer's bytes", async () => {
    const { mock, modem } = await openModem();
    const old = await startPeer();
    const a = await connected(modem.connect('127.0.0.1', old.port));
    const aSeen = collect(a);
    await waitFor(() => old.conns.length === 1, 5000, 'the old peer to accept');
    const oldConn = old.conns[0]!;
    const oldClosed = once(oldConn, 'close');
    mock.refuseNext(`AT+CIPSEND=${a.link}`, '+CME ERROR: 50');
    a.write('x');
    await waitFor(() => aSeen.events.includes('close:true'), 10_000, 'the refused socket to fail');
    expect(aSeen.events).toContain('error:ERR_LINK_CLOSED');
    // The next socket is connected at once; the old peer keeps sending meanwhile.
    const b = modem.connect('127.0.0.1', bed.echo.port);
    const bSeen = collect(b);
    oldConn.write('OLD-PEER-DATA;');
    await once(b, 'connect');
    b.write('mine;');
    await waitFor(() => bSeen.data().length >= 5, 10_000, 'the echo');
    await new Promise((r) => setTimeout(r, 200));
    expect(bSeen.data().toString()).toBe('mine;');
    expect(mock.commands()).toContain(`AT+CIPCLOSE=${a.link}`);
    await oldClosed; // the old peer saw the close
    b.destroy();
  });

  it('an id whose CIPCLOSE the module refuses is not handed to the next socket', async () => {
    const { mock, modem } = await openModem();
    const old = await startPeer();
    const a = await connected(modem.connect('127.0.0.1', old.port));
    await waitFor(() => old.conns.length === 1, 5000, 'the old peer to accept');
    const n = a.link;
    mock.refuseNext(`AT+CIPCLOSE=${n}`, '+CME ERROR: 50');
    a.destroy();
    await waitFor(() => mock.commands().includes(`AT+CIPCLOSE=${n}`), 5000, 'the CIPCLOSE');
    await new Promise((r) => setTimeout(r, 100));
    const b = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const bSeen = collect(b);
    expect(b.link).not.toBe(n);
    old.conns[0]!.write('OLD-PEER-DATA;');
    b.write('mine;');
    await waitFor(() => bSeen.data().length >= 5, 10_000, 'the echo');
    await new Promise((r) => setTimeout(r, 200));
    expect(bSeen.data().toString()).toBe('mine;');
    b.destroy();
  });
});

describe('ALREADY CONNECT', () => {
  it("an id the module still holds and will not close is not freed: the next socket never gets the old peer's bytes", async () => {
    const { mock, modem } = await openModem();
    const old = await startPeer();
    const a = await connected(modem.connect('127.0.0.1', old.port));
    await waitFor(() => old.conns.length === 1, 5000, 'the old peer to accept');
    const n = a.link;
    // Line noise that reads as a peer close: the host lets the id go while the module keeps the link.
    a.on('error', () => undefined);
    mock.injectNoise(Buffer.from(`\r\n${n}, CLOSED\r\n`, 'latin1'));
    await waitFor(() => a.destroyed, 5000, 'the socket to end');
    // The next connect on that id gets ALREADY CONNECT, and the module refuses to close it.
    mock.refuseNext(`AT+CIPCLOSE=${n}`, '+CME ERROR: 50');
    const b = modem.connect('127.0.0.1', bed.echo.port);
    const [err] = (await once(b, 'error')) as [CodedError];
    expect(err.code).toBe('ERR_CONNECT_FAILED');
    expect(b.link).toBe(n);
    const c = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const cSeen = collect(c);
    expect(c.link).not.toBe(n);
    old.conns[0]!.write('OLD-PEER-DATA;');
    c.write('mine;');
    await waitFor(() => cSeen.data().length >= 5, 10_000, 'the echo');
    await new Promise((r) => setTimeout(r, 200));
    expect(cSeen.data().toString()).toBe('mine;');
    c.destroy();
  });
});

describe('DATA ACCEPT counts', () => {
  it('a send the module accepts only in part: the rest is sent again, bytesWritten counts what was accepted', async () => {
    const { mock, modem } = await openModem();
    const s = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const seen = collect(s);
    mock.acceptNextPartially(4);
    const written = new Promise<void>((resolve, reject) =>
      s.write('abcdefghij', (err) => (err ? reject(err) : resolve())),
    );
    await written;
    await s.delivery.waitAccepted(10, { timeoutMs: 10_000 });
    await waitFor(() => seen.data().length >= 10, 10_000, 'the echo');
    expect(seen.data().toString()).toBe('abcdefghij');
    expect(s.bytesWritten).toBe(10);
    expect(mock.commands().filter((c) => c.startsWith(`AT+CIPSEND=${s.link},`))).toEqual([
      `AT+CIPSEND=${s.link},10`,
      `AT+CIPSEND=${s.link},6`,
    ]);
    s.destroy();
  });

  it('a module that keeps accepting nothing fails the socket with ERR_DATA_LOST; nothing is reported accepted', async () => {
    const { mock, modem } = await openModem();
    const s = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const seen = collect(s);
    for (let i = 0; i < 3; i++) mock.acceptNextPartially(0);
    s.write('lost');
    const accepted = s.delivery.waitAccepted(4, { timeoutMs: 10_000 }).then(
      () => 'accepted',
      (e: CodedError) => e.code,
    );
    expect(await accepted).toBe('ERR_DATA_LOST');
    await waitFor(() => seen.events.includes('close:true'), 10_000, 'close');
    expect(seen.events).toContain('error:ERR_DATA_LOST');
    expect(s.bytesWritten).toBe(0);
  });
});

describe('pull mode: end() while a read is in flight', () => {
  it('delivers the bytes of that read before EOF, without ERR_STREAM_PUSH_AFTER_EOF', async () => {
    const { mock, modem, wire } = await openInterposed(cleanup, 'pull', 'plain');
    const peer = await startPeer();
    const s = await connected(modem.connect('127.0.0.1', peer.port));
    const seen = collect(s);
    await waitFor(() => peer.conns.length === 1, 5000, 'the peer to accept');
    // The module answers slowly, so the read is in flight when end() is called.
    const rxHeader = new RegExp(`^\\+CIPRXGET: 2,${s.link},(\\d+),`);
    mock.stall(300);
    peer.conns[0]!.write(Buffer.alloc(4000, 0x61));
    await waitFor(() => s.state.readInFlight, 10_000, 'a read to be under way');
    s.end();
    await waitFor(() => seen.events.some((e) => e.startsWith('close:')), 10_000, 'close');
    expect(seen.events.filter((e) => e.startsWith('error'))).toEqual([]);
    expect(seen.events).toEqual(['end', 'close:false']);
    const read = wire.hostLines
      .map((l) => rxHeader.exec(l))
      .filter((m) => m !== null)
      .reduce((sum, m) => sum + Number(m[1]), 0);
    expect(read).toBeGreaterThan(0);
    expect(seen.data().length).toBe(read);
    expect(seen.data().equals(Buffer.alloc(read, 0x61))).toBe(true);
  });
});

describe('a write-only user when the peer closes during an upload', () => {
  it('the pipeline fails with ERR_LINK_CLOSED and the socket closes (no hang)', async () => {
    const { modem } = await openModem();
    const server = net.createServer((c) => {
      let got = 0;
      c.on('error', () => undefined);
      c.on('data', (b: Buffer) => {
        got += b.length;
        if (got >= 3000) c.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const s = await connected(modem.connect('127.0.0.1', (server.address() as AddressInfo).port));
    const closed = new Promise((r) => s.on('close', r));
    const chunks = Array.from({ length: 200 }, () => Buffer.alloc(1000, 0x62));
    const outcome = await Promise.race([
      pipeline(Readable.from(chunks), s).then(
        () => 'finished',
        (e: CodedError) => e.code,
      ),
      new Promise((r) => setTimeout(() => r('still pending after 15 s'), 15_000)),
    ]);
    expect(outcome).toBe('ERR_LINK_CLOSED');
    await closed;
  });
});

describe('CIPSTART answered +CME ERROR: 65535', () => {
  it("without ALREADY CONNECT the connect fails with the module's error, no CIPCLOSE, no retry", async () => {
    const { mock, modem } = await openModem();
    mock.refuseNext('AT+CIPSTART=', '+CME ERROR: 65535');
    mock.clearTranscript();
    const s = modem.connect('127.0.0.1', bed.echo.port);
    const [err] = (await once(s, 'error')) as [CodedError];
    expect(err.code).toBe('ERR_CONNECT_FAILED');
    expect(err.message).toMatch(/65535/);
    expect(mock.commands().filter((c) => /^AT\+CIP(?:START|CLOSE)/.test(c))).toEqual([
      expect.stringMatching(/^AT\+CIPSTART=/),
    ]);
  });
});

describe('bearer loss reported link by link', () => {
  it('sockets closed in the same burst as +PDP: DEACT fail with ERR_MODEM_RESET instead of ending cleanly', async () => {
    const { mock, modem } = await openModem();
    const a = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const b = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const aSeen = collect(a);
    const bSeen = collect(b);
    mock.deactivatePdp({ reportLinksFirst: true });
    await waitFor(
      () => aSeen.events.some((e) => e.startsWith('close:')) && bSeen.events.some((e) => e.startsWith('close:')),
      10_000,
      'both sockets to close',
    );
    for (const seen of [aSeen, bSeen]) {
      expect(seen.events).not.toContain('end');
      expect(seen.events).toEqual(['error:ERR_MODEM_RESET', 'close:true']);
    }
  });
});

describe('link ids outside 0-5', () => {
  it('are ignored: no per-link counter is written, the modem keeps working', async () => {
    const { mock, modem } = await openModem({ rxMode: 'pull' });
    const s = await connected(modem.connect('127.0.0.1', bed.echo.port));
    const seen = collect(s);
    mock.injectNoise(Buffer.from('\r\n7, CLOSED\r\n\r\n+CIPRXGET: 1,7\r\n\r\n12, CONNECT OK\r\n', 'latin1'));
    s.write('still here');
    await waitFor(() => seen.data().length >= 10, 10_000, 'the echo');
    expect(seen.data().toString()).toBe('still here');
    const rxSeq = (modem as unknown as { links: { rxSeq: number[] } }).links.rxSeq;
    expect(rxSeq).toHaveLength(6);
    expect(rxSeq.every((x) => Number.isInteger(x))).toBe(true);
    s.destroy();
  });
});
