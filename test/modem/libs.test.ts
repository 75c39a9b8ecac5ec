import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions } from '../../src/modem/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { startEchoServer, startTlsEchoServer, type TestServer } from '../helpers/servers.js';
import { echoThrough, firstEvent } from './helpers.js';

const FAST: ModemOpenOptions = { syncIntervalMs: 300, pollIntervalMs: 50, commandTimeoutMs: 5000 };

let pki: TestPki;
let tlsEcho: TestServer;
let echo: TestServer;
beforeAll(async () => {
  pki = makeTestPki();
  tlsEcho = await startTlsEchoServer(pki.serverCert, pki.serverKey);
  echo = await startEchoServer();
});
afterAll(async () => {
  await tlsEcho.close();
  await echo.close();
});
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

async function open(rxMode: 'push' | 'pull' = 'push') {
  const mock = new MockModem();
  cleanup.push(() => mock.close());
  const modem = await Modem.open({ stream: mock.hostStream(), ...FAST, rxMode });
  cleanup.push(() => modem.close());
  return { mock, modem };
}

describe('libraries over a ModemSocket', () => {
  it('the ws package client runs over a ModemSocket via createConnection', async () => {
    const { modem } = await open('pull');
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise((r) => {
          wss.close();
          server.close(() => r());
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const client = new WebSocket(`ws://127.0.0.1:${port}/echo`, {
      handshakeTimeout: 10_000,
      createConnection: () => modem.connect('127.0.0.1', port) as unknown as import('node:net').Socket,
    });
    await once(client, 'open');
    const big = Buffer.alloc(100_000, 9);
    client.send('hello');
    client.send(big);
    const msgs: Array<[Buffer, boolean]> = [];
    while (msgs.length < 2) {
      const [m, bin] = (await once(client, 'message')) as [Buffer, boolean];
      msgs.push([m, bin]);
    }
    expect(msgs[0]![0].toString()).toBe('hello');
    expect(msgs[0]![1]).toBe(false);
    expect(msgs[1]![0].equals(big)).toBe(true);
    client.close(1000, 'bye');
    const [code] = (await once(client, 'close')) as [number];
    expect(code).toBe(1000);
  });

  it('ws handshakeTimeout fires through setTimeout/timeout on a silent server', async () => {
    const { modem } = await open();
    const net = await import('node:net');
    const conns = new Set<import('node:net').Socket>();
    const silent = net.createServer((c) => conns.add(c));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise((r) => {
          for (const c of conns) c.destroy();
          silent.close(() => r());
        }),
    );
    const port = (silent.address() as AddressInfo).port;
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, {
      handshakeTimeout: 400,
      // Like net.createConnection, honour options.timeout: that is how ws arms handshakeTimeout.
      createConnection: (opts: http.ClientRequestArgs) => {
        const s = modem.connect('127.0.0.1', port);
        if (opts.timeout) s.setTimeout(opts.timeout);
        return s as unknown as import('node:net').Socket;
      },
    });
    const [err] = (await once(client, 'error')) as [Error];
    expect(err.message).toMatch(/timed out/i);
  });

  it("Node's tls over a ModemSocket (host TLS) verifies with the test CA and echoes", async () => {
    const { modem } = await open();
    const s = await modem.openStream('localhost', tlsEcho.port, { tls: 'host', ca: pki.caCert });
    expect((s as unknown as tls.TLSSocket).authorized).toBe(true);
    expect((s as unknown as tls.TLSSocket).getProtocol()).toBe('TLSv1.3');
    expect(s.delivery.bytesQueued).toBe(s.delivery.bytesQueued);
    const r = await echoThrough(s, 200_000);
    expect(r.received).toBe(r.sent);
    s.destroy();
  });

  it('host TLS with the wrong CA is refused', async () => {
    const { modem } = await open();
    await expect(
      modem.openStream('localhost', tlsEcho.port, { tls: 'host', ca: pki.otherCaCert }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/) });
    await expect(modem.openStream('localhost', tlsEcho.port, { tls: 'host' })).rejects.toBeTruthy();
    // links were freed
    const ok = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', echo.port));
    await Promise.all(ok.map((s) => once(s, 'connect')));
    for (const s of ok) s.destroy();
  });

  it('host TLS without verification only when asked for', async () => {
    const { modem } = await open();
    const s = await modem.openStream('localhost', tlsEcho.port, { tls: 'host', rejectUnauthorized: false });
    const r = await echoThrough(s, 5000);
    expect(r.received).toBe(r.sent);
    s.destroy();
  });
});

describe('module TLS', () => {
  it('configures SSLCFG, uploads the CA once, echoes, and refuses mixing', async () => {
    const { modem, mock } = await open('pull');
    const a = await modem.openStream('localhost', tlsEcho.port, { tls: 'modem', ca: pki.caCert });
    const r = await echoThrough(a, 50_000);
    expect(r.received).toBe(r.sent);
    const b = await modem.openStream('localhost', tlsEcho.port, { tls: 'modem', ca: pki.caCert });
    const plain = modem.connect('127.0.0.1', echo.port);
    const e = await firstEvent(plain, ['error']);
    expect(e.args[0]).toMatchObject({ code: 'ERR_TLS_MIXED' });
    const cmds = mock.transcript.filter((x) => x.kind === 'command').map((x) => x.text);
    expect(cmds.filter((c) => c.startsWith('AT+FSWRITE=')).length).toBe(1);
    expect(cmds).toContain('AT+CIPSSL=1');
    expect(cmds.some((c) => /^AT\+SSLCFG="sslversion",\d,3$/.test(c))).toBe(true);
    expect(cmds.some((c) => /^AT\+SSLCFG="seclevel",\d,1$/.test(c))).toBe(true);
    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    // With the TLS links gone, plain links work again (the switch is turned off).
    const p = modem.connect('127.0.0.1', echo.port);
    await once(p, 'connect');
    const r2 = await echoThrough(p, 5000);
    expect(r2.received).toBe(r2.sent);
    const t = modem.connect('localhost', tlsEcho.port, { tls: 'modem', ca: pki.caCert });
    expect((await firstEvent(t, ['error'])).args[0]).toMatchObject({ code: 'ERR_TLS_MIXED' });
    p.destroy();
  });

  it('a CA already on the module (same content hash) is not uploaded again by a new session', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    for (let session = 0; session < 2; session++) {
      const modem = await Modem.open({ stream: mock.hostStream(), ...FAST });
      const s = await modem.openStream('localhost', tlsEcho.port, { tls: 'modem', ca: pki.caCert });
      const r = await echoThrough(s, 2000);
      expect(r.received).toBe(r.sent);
      await modem.close();
      if (session === 0) mock.unplug({ replugAfterMs: 10 });
      await new Promise((res) => setTimeout(res, 50));
    }
    const writes = mock.transcript.filter((x) => x.kind === 'command' && x.text.startsWith('AT+FSWRITE='));
    expect(writes.length).toBe(1);
  });

  it('module TLS needs a CA unless verification is explicitly off', async () => {
    const { modem } = await open();
    await expect(modem.openStream('localhost', tlsEcho.port, { tls: 'modem' })).rejects.toMatchObject({
      code: 'ERR_BAD_ARGUMENT',
    });
    const s = await modem.openStream('localhost', tlsEcho.port, { tls: 'modem', rejectUnauthorized: false });
    const r = await echoThrough(s, 3000);
    expect(r.received).toBe(r.sent);
    s.destroy();
  });

  it('module TLS with the wrong CA fails to connect', async () => {
    const { modem } = await open();
    await expect(
      modem.openStream('localhost', tlsEcho.port, { tls: 'modem', ca: pki.otherCaCert, timeoutMs: 10_000 }),
    ).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED' });
  });
});
