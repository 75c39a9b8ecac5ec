import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import '../../src/index.js';
import type { Modem } from '../../src/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer, expectThroughModule, openModem, sha256 } from '../integration/helpers.js';
import { startWsEcho } from '../ws/peers.js';

/** The `ws` package's client with its connection made by `modem.createConnection`. */
function wsOverModem(modem: Modem, url: string, extra: { ca?: string } = {}): WebSocket {
  const secure = url.startsWith('wss:');
  const ws = new WebSocket(url, {
    handshakeTimeout: 20_000,
    // ws hands over net/tls-style options; the module link (and host TLS) replaces net/tls.
    createConnection: ((o: { host: string; port: number | string; servername?: string }) =>
      modem.createConnection({
        host: o.host,
        port: o.port,
        ...(secure ? { tls: true, servername: o.servername, ...extra } : {}),
      })) as never,
  });
  defer(() => ws.terminate());
  return ws;
}

/** Sends each message and resolves with the SHA-256 of each echo, in order. */
function echoAll(ws: WebSocket, messages: Buffer[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    ws.on('message', (data: Buffer, binary) => {
      expect(binary).toBe(true);
      got.push(sha256(data));
      if (got.length === messages.length) resolve(got);
    });
    ws.once('error', reject);
    ws.once('open', () => {
      for (const m of messages) ws.send(m);
    });
  });
}

describe('the ws package over modem.createConnection', () => {
  it('ws:// echo, byte-exact, through the module (push and pull)', async () => {
    for (const rxMode of ['push', 'pull'] as const) {
      const { modem, mock } = await openModem({ rxMode });
      const server = await startWsEcho();
      defer(() => server.close());
      const messages = [randomBytes(1), randomBytes(70_000), randomBytes(200_000), randomBytes(125)];
      const ws = wsOverModem(modem, `ws://127.0.0.1:${server.port}/echo`);
      expect(await echoAll(ws, messages)).toEqual(messages.map(sha256));
      expectThroughModule(mock, server.port, rxMode);
      ws.close(1000);
      await new Promise((r) => ws.once('close', r));
    }
  });

  it('wss:// verified with the test CA (and refused with an unrelated one)', async () => {
    const pki = makeTestPki();
    const { modem } = await openModem();
    const server = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const messages = [randomBytes(50_000), randomBytes(10)];
    const ws = wsOverModem(modem, `wss://localhost:${server.port}/`, { ca: pki.caCert });
    expect(await echoAll(ws, messages)).toEqual(messages.map(sha256));
    const bad = wsOverModem(modem, `wss://localhost:${server.port}/`, { ca: pki.otherCaCert });
    const err = await new Promise<Error & { code?: string }>((r) => bad.once('error', r));
    expect(err.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
  });

  it('a module reboot closes the websocket abnormally (1006, as ws reports a reset socket), never a hang', async () => {
    const { modem, mock } = await openModem();
    const server = await startWsEcho();
    defer(() => server.close());
    const ws = wsOverModem(modem, `ws://127.0.0.1:${server.port}/`);
    await echoAll(ws, [Buffer.from('x')]);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    mock.reboot();
    expect(await closed).toBe(1006);
  });
});
