import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { echoThrough, firstEvent, useEchoServer } from './helpers.js';

const bed = useEchoServer();
const { cleanup } = bed;

async function open(
  rxMode: 'push' | 'pull',
  mockOpts: ConstructorParameters<typeof MockModem>[0] = {},
  pushBufferLimit?: number,
) {
  const mock = new MockModem(mockOpts);
  cleanup.push(() => mock.close());
  const modem = await Modem.open({
    stream: mock.hostStream(),
    rxMode,
    syncIntervalMs: 300,
    pollIntervalMs: 50,
    ...(pushBufferLimit ? { pushBufferLimit } : {}),
  });
  cleanup.push(() => modem.close());
  return { mock, modem };
}

/** A server that sends `payload` to each client, then closes. */
async function sender(payload: Buffer, secure?: { cert: string; key: string }): Promise<number> {
  const onConn = (s: net.Socket) => {
    s.on('error', () => undefined);
    s.end(payload);
  };
  const tls = await import('node:tls');
  const server = secure ? tls.createServer(secure, onConn) : net.createServer(onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

describe('fair sharing of the AT channel', () => {
  it('alternates CIPSENDs between links that both have data queued', async () => {
    const { modem, mock } = await open('push');
    const a = modem.connect('127.0.0.1', bed.echo.port);
    const b = modem.connect('127.0.0.1', bed.echo.port);
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    const from = mock.transcript.length;
    const [ra, rb] = await Promise.all([echoThrough(a, 100_000), echoThrough(b, 100_000)]);
    expect(ra.received).toBe(ra.sent);
    expect(rb.received).toBe(rb.sent);
    const links = mock.transcript
      .slice(from)
      .filter((e) => e.kind === 'command' && e.text.startsWith('AT+CIPSEND='))
      .map((e) => Number(e.text.slice('AT+CIPSEND='.length).split(',')[0]));
    // Both wrote 100 kB at once: until one is done, no link gets two sends in a row.
    const firstDone = Math.min(links.lastIndexOf(a.link), links.lastIndexOf(b.link));
    let run = 1;
    for (let i = 1; i <= firstDone; i++) {
      run = links[i] === links[i - 1] ? run + 1 : 1;
      expect(run).toBeLessThanOrEqual(2);
    }
    a.destroy();
    b.destroy();
  });

  it('pull reads of one link go on while another link sends in bulk', async () => {
    const { modem, mock } = await open('pull');
    const payload = Buffer.alloc(200_000, 3);
    const port = await sender(payload);
    const bulk = modem.connect('127.0.0.1', bed.echo.port);
    await once(bulk, 'connect');
    bulk.resume();
    const big = Buffer.alloc(300_000, 1);
    bulk.write(big);
    const from = mock.transcript.length;
    const reader = modem.connect('127.0.0.1', port);
    const got: Buffer[] = [];
    reader.on('data', (b: Buffer) => got.push(b));
    await once(reader, 'end');
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    const cmds = mock.transcript
      .slice(from)
      .filter((e) => e.kind === 'command')
      .map((e) => e.text);
    const reads = cmds.filter((c) => c.startsWith(`AT+CIPRXGET=2,${reader.link},`)).length;
    expect(reads).toBeGreaterThanOrEqual(Math.ceil(payload.length / 1460));
    bulk.destroy();
  });
});

describe('receive edge cases', () => {
  it('push mode: a reader that never reads hits ERR_RX_OVERFLOW instead of unbounded memory', async () => {
    const { modem } = await open('push', {}, 100_000);
    const port = await sender(Buffer.alloc(1_000_000, 7));
    const s = modem.connect('127.0.0.1', port);
    const e = await firstEvent(s, ['error'], 20_000);
    expect(e.args[0]).toMatchObject({ code: 'ERR_RX_OVERFLOW' });
  });

  it('an unsolicited CLOSE OK (TLS peer close quirk) ends the socket after all data', async () => {
    const pki = makeTestPki();
    const { modem } = await open('push', { quirks: ['tls-close-ok'] });
    const payload = Buffer.alloc(30_000, 0x42);
    const port = await sender(payload, { cert: pki.serverCert, key: pki.serverKey });
    const s = await modem.openStream('localhost', port, { tls: 'modem', ca: pki.caCert });
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    await once(s, 'end');
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    // The link is free for a new connection.
    const again = await modem.openStream('localhost', port, { tls: 'modem', ca: pki.caCert });
    again.resume();
    await once(again, 'end');
  });
});
