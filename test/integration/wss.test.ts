/**
 * wss through the module with a throwaway CA: TLS on the host (Node tls over a ModemSocket) and
 * TLS in the module (AT+SSLCFG, CA uploaded to the module's file system). A wrong CA is refused in
 * both modes with a coded error.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openerConnect, websocket, WebSocketClient } from '../../src/ws/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { defer, openModem, recordLuat, sha256, startWsEcho, type WsPeer } from './helpers.js';

let pki: TestPki;
let peer: WsPeer;
beforeAll(async () => {
  pki = makeTestPki();
  peer = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
});
afterAll(async () => {
  await peer.close();
});

describe.each([
  ['host', 'push'],
  ['modem', 'pull'],
] as const)('wss with TLS in the %s (%s mode)', (mode, rxMode) => {
  it('verifies the server against the test CA and echoes text and 300 kB binary', async () => {
    const { modem, mock } = await openModem({ rxMode });
    const client = new WebSocketClient(`wss://localhost:${peer.port}/secure`, {
      connect: openerConnect(modem, { ca: pki.caCert, mode }),
      keepaliveMs: 0,
      handshakeTimeoutMs: 20_000,
    });
    defer(() => client.terminate());
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await client.opened();
    const cmds = mock.commands();
    expect(cmds.some((c) => /^AT\+CIPSTART=\d,"TCP","localhost",\d+$/.test(c))).toBe(true);
    if (mode === 'modem') {
      expect(cmds).toContain('AT+CIPSSL=1');
      expect(cmds.some((c) => c.startsWith('AT+FSWRITE='))).toBe(true);
      expect(cmds.some((c) => /^AT\+SSLCFG="cacert",\d,/.test(c))).toBe(true);
      // The module decrypts: the handshake answer crosses the serial line in clear.
      expect(mock.sentText()).toContain('HTTP/1.1 101 Switching Protocols');
    } else {
      expect(cmds).not.toContain('AT+CIPSSL=1');
      // The host decrypts: only TLS records cross the serial line.
      expect(mock.sentText()).not.toContain('Switching Protocols');
    }
    const msgs: Array<string | Buffer> = [];
    client.on('message', (d) => msgs.push(d));
    const bin = randomBytes(300_000);
    client.send('secure hello');
    client.send(bin);
    const deadline = Date.now() + 20_000;
    while (msgs.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(msgs[0]).toBe('secure hello');
    expect(sha256(msgs[1] as Buffer)).toBe(sha256(bin));
    const closed = client.closed();
    client.close();
    expect(await closed).toMatchObject({ code: 1000, wasClean: true });
    expect(errors).toEqual([]);
    expect(peer.requests.at(-1)?.url).toBe('/secure');
  });

  it('refuses a server signed by another CA: ERR_WS_CONNECT, no handshake, the link is freed', async () => {
    const { modem, mock } = await openModem({ rxMode });
    const before = peer.requests.length;
    const client = new WebSocketClient(`wss://localhost:${peer.port}/`, {
      connect: openerConnect(modem, { ca: pki.otherCaCert, mode }),
      keepaliveMs: 0,
      handshakeTimeoutMs: 20_000,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const closed = await client.closed();
    expect(closed.code).toBe(1006);
    expect(errors).toHaveLength(1);
    const err = errors[0] as Error & { code?: string; cause?: Error & { code?: string } };
    expect(err.code).toBe('ERR_WS_CONNECT');
    expect(err.message).toMatch(
      mode === 'host'
        ? /certificate was not accepted .*`ca` option/
        : /for module TLS, the server's TLS versions and CA/,
    );
    // The cause says which check failed: Node's verification code (host TLS) or the module's refusal.
    expect(err.cause?.code).toMatch(mode === 'host' ? /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/ : /^ERR_CONNECT_FAILED$/);
    expect(peer.requests.length).toBe(before);
    expect(mock.commands().some((c) => c.endsWith(`"localhost",${peer.port}`) && c.startsWith('AT+CIPSTART='))).toBe(
      true,
    );
    // All six links are free again.
    const sockets = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', peer.port));
    await Promise.all(
      sockets.map((s) => new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject))),
    );
    for (const s of sockets) s.destroy();
  });

  it('the LuatOS API: error (connect) then disconnect, never conack, with the wrong CA', async () => {
    const { modem } = await openModem({ rxMode });
    const wsc = websocket.create(modem, `wss://localhost:${peer.port}/`, 60, false, { ca: pki.otherCaCert, mode })!;
    defer(() => wsc.close());
    const rec = recordLuat(wsc);
    expect(wsc.connect()).toBe(true);
    await rec.waitFor('disconnect');
    expect(rec.names()).toEqual(['error', 'disconnect']);
    expect(rec.events[0]!.data).toBe('connect');
    expect(rec.events[0]!.payload).toMatchObject({ code: 'ERR_WS_CONNECT' });
    expect(wsc.ready()).toBe(false);
  });
});
