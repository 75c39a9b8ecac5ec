import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions, type ModemSocket } from '../../src/modem/index.js';
import { closedPort } from '../helpers/servers.js';
import { echoThrough, firstEvent, useEchoServer } from './helpers.js';

const FAST: ModemOpenOptions = { syncIntervalMs: 300, pollIntervalMs: 50, commandTimeoutMs: 5000 };
const MB = 1024 * 1024;

const bed = useEchoServer();
const { cleanup } = bed;

async function open(rxMode: 'push' | 'pull', mockOpts: MockModemOptions = {}, opts: ModemOpenOptions = {}) {
  const mock = new MockModem(mockOpts);
  cleanup.push(() => mock.close());
  const modem = await Modem.open({ stream: mock.hostStream(), ...FAST, rxMode, ...opts });
  cleanup.push(() => modem.close());
  return { mock, modem };
}

function connected(s: ModemSocket): Promise<void> {
  return firstEvent(s, ['connect', 'error']).then((e) => {
    if (e.name === 'error') throw e.args[0];
  });
}

describe.each(['push', 'pull'] as const)('sockets in %s mode', (rxMode) => {
  it('echoes 1 MB on each of six sockets at once, byte exact', async () => {
    const { modem, mock } = await open(rxMode);
    const sockets = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
    await Promise.all(sockets.map(connected));
    expect(sockets.map((s) => s.link).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const results = await Promise.all(sockets.map((s) => echoThrough(s, MB)));
    for (const r of results) {
      expect(r.bytes).toBe(MB);
      expect(r.received).toBe(r.sent);
    }
    for (const s of sockets) expect(s.bytesWritten).toBe(MB);
    // Every send used the 1460-byte limit except the tail of each stream.
    const sends = mock.transcript.filter((e) => e.kind === 'command' && e.text.startsWith('AT+CIPSEND='));
    expect(sends.every((e) => Number(e.text.split(',')[1]) <= 1460)).toBe(true);
    await Promise.all(
      sockets.map(async (s) => {
        s.end();
        await once(s, 'close');
      }),
    );
    // Links are free again.
    const again = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
    await Promise.all(again.map(connected));
    for (const s of again) s.destroy();
  });

  it('refuses a seventh socket with ERR_NO_FREE_LINK and frees links after failures', async () => {
    const { modem } = await open(rxMode);
    const refused = await closedPort();
    const bad = modem.connect('127.0.0.1', refused);
    const e = await firstEvent(bad, ['error']);
    expect(e.args[0]).toMatchObject({ code: 'ERR_CONNECT_FAILED' });
    const sockets = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
    await Promise.all(sockets.map(connected));
    const seventh = modem.connect('127.0.0.1', bed.echo.port);
    const err = await firstEvent(seventh, ['error']);
    expect(err.args[0]).toMatchObject({ code: 'ERR_NO_FREE_LINK' });
    sockets[2]!.destroy();
    await once(sockets[2]!, 'close');
    const replacement = modem.connect('127.0.0.1', bed.echo.port);
    await connected(replacement);
    const r = await echoThrough(replacement, 10_000);
    expect(r.received).toBe(r.sent);
    for (const s of [...sockets, replacement]) s.destroy();
  });

  it('delivers every byte before end when the peer closes', async () => {
    const { modem, mock } = await open(rxMode);
    const net = await import('node:net');
    const payload = Buffer.alloc(50_000, 7);
    const server = net.createServer((s) => s.end(payload));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const s = modem.connect('127.0.0.1', (server.address() as import('node:net').AddressInfo).port);
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    await once(s, 'end');
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    const [hadError] = (await once(s, 'close')) as [boolean];
    expect(hadError).toBe(false);
    expect(mock.transcript.some((e) => e.kind === 'sent' && /\d, ?CLOSED/.test(e.text))).toBe(true);
  });

  it('tracks delivery with AT+CIPACK', async () => {
    const { modem, mock } = await open(rxMode);
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await connected(s);
    s.on('data', () => undefined);
    s.write(Buffer.alloc(5000, 1));
    expect(s.delivery.bytesQueued).toBe(5000);
    await s.delivery.waitAcked(5000, { timeoutMs: 10_000 });
    expect(mock.transcript.some((e) => e.kind === 'command' && e.text === `AT+CIPACK=${s.link}`)).toBe(true);
    await expect(s.delivery.waitAcked(10_000, { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'ERR_DELIVERY_TIMEOUT',
    });
    s.destroy();
  });

  it('a wait for acknowledgement ends with ERR_LINK_CLOSED when the peer closes the link, not at its timeout', async () => {
    const { modem, mock } = await open(rxMode);
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await connected(s);
    // Nobody reads: the socket is not destroyed by reading its end, only the link is gone.
    s.on('error', () => undefined);
    s.write(Buffer.alloc(100, 1));
    await s.delivery.waitAcked(100, { timeoutMs: 10_000 });
    // An offset the peer can never acknowledge, with a timeout far beyond the test's own.
    const waiting = s.delivery.waitAcked(200, { timeoutMs: 600_000 });
    mock.closePeer(s.link);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED' });
  });
});

describe('socket surface', () => {
  it('refuses hosts with quotes, CR, LF or invalid characters before writing anything', async () => {
    const { modem, mock } = await open('push');
    const before = mock.transcript.length;
    for (const host of ['a"b', 'host\r\nAT+CFUN=0', 'x\ny', 'bad host', '', 'a'.repeat(200)]) {
      expect(() => modem.connect(host, 80)).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT' }));
      await expect(modem.openStream(host, 80)).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    }
    expect(() => modem.connect('127.0.0.1', 0)).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT' }));
    expect(mock.transcript.slice(before).filter((e) => e.kind === 'command')).toEqual([]);
  });

  it('times out a connect to a black-holed address and frees the link', async () => {
    const { modem } = await open('push', { blackhole: ['192.0.2.1'] });
    const s = modem.connect('192.0.2.1', 80, { timeoutMs: 500 });
    const e = await firstEvent(s, ['error']);
    expect(e.args[0]).toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
    const ok = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
    await Promise.all(ok.map(connected));
    for (const x of ok) x.destroy();
  });

  it('arms a real idle timer and emits timeout, with the net.Socket fields', async () => {
    const { modem } = await open('push');
    const s = modem.connect('127.0.0.1', bed.echo.port);
    expect(s.connecting).toBe(true);
    expect(s.readyState).toBe('opening');
    await connected(s);
    expect(s.connecting).toBe(false);
    expect(s.readyState).toBe('open');
    expect(s.remoteAddress).toBe('127.0.0.1');
    expect(s.remotePort).toBe(bed.echo.port);
    expect(s.setNoDelay(true)).toBe(s);
    expect(s.setKeepAlive(true, 1000)).toBe(s);
    const t0 = Date.now();
    s.setTimeout(200);
    expect(s.timeout).toBe(200);
    await once(s, 'timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    s.setTimeout(0);
    expect(s.timeout).toBeUndefined();
    const r = await echoThrough(s, 3000);
    expect(s.bytesRead).toBe(3000);
    expect(r.received).toBe(r.sent);
    s.destroy();
    const [hadError] = (await once(s, 'close')) as [boolean];
    expect(hadError).toBe(false);
  });

  it('coalesces small writes into few CIPSENDs', async () => {
    const { modem, mock } = await open('push', { latencyMs: 5 });
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await connected(s);
    const before = mock.transcript.filter((e) => e.kind === 'command' && e.text.startsWith('AT+CIPSEND=')).length;
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    for (let i = 0; i < 200; i++) s.write(Buffer.from([i]));
    while (Buffer.concat(got).length < 200) await once(s, 'data');
    const sends =
      mock.transcript.filter((e) => e.kind === 'command' && e.text.startsWith('AT+CIPSEND=')).length - before;
    expect(sends).toBeLessThan(20);
    expect([...Buffer.concat(got)]).toEqual(Array.from({ length: 200 }, (_, i) => i));
    s.destroy();
  });
});
