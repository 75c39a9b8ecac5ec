import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import '../../src/index.js';
import { closedPort, startEchoServer, startTlsEchoServer } from '../helpers/servers.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer, expectThroughModule, openModem, sha256, until } from '../integration/helpers.js';
import { localhostOnlyCert } from './pki.js';

/** Writes `payload`, reads as many bytes back, resolves with their hash. */
function echoHash(s: Duplex, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    s.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= payload.length) resolve(sha256(Buffer.concat(got)));
    });
    s.on('error', reject);
    s.write(payload);
  });
}

function errorOf(s: Duplex): Promise<Error & { code?: string; cause?: Error & { code?: string } }> {
  return new Promise((resolve) => s.once('error', resolve));
}

describe('modem.createConnection', () => {
  it('returns the socket at once, connects in the background and carries bytes exactly', async () => {
    const { mock, modem } = await openModem();
    const server = await startEchoServer();
    defer(() => server.close());
    let connected = false;
    const socket = modem.createConnection({ host: '127.0.0.1', port: server.port }, () => (connected = true));
    expect(socket.connecting).toBe(true);
    // Written before the link is up: queued, sent after CONNECT OK.
    const payload = randomBytes(64 * 1024);
    expect(await echoHash(socket, payload)).toBe(sha256(payload));
    expect(connected).toBe(true);
    expectThroughModule(mock, server.port);
    socket.destroy();
  });

  it('takes the (port, host, listener) form and a string port', async () => {
    const { modem } = await openModem();
    const server = await startEchoServer();
    defer(() => server.close());
    const socket = await new Promise<Duplex>((resolve) => {
      const s = modem.createConnection(String(server.port), '127.0.0.1', () => resolve(s));
    });
    expect(await echoHash(socket, Buffer.from('ping'))).toBe(sha256('ping'));
    socket.destroy();
  });

  it("applies `timeout` as the socket's idle timeout", async () => {
    const { modem } = await openModem();
    const server = await startEchoServer();
    defer(() => server.close());
    const socket = modem.createConnection({ host: '127.0.0.1', port: server.port, timeout: 200 });
    await new Promise<void>((resolve) => socket.once('timeout', resolve));
    socket.destroy();
  });

  it('a refused connect is ECONNREFUSED with the module error as cause', async () => {
    const { modem } = await openModem();
    const socket = modem.createConnection({ host: '127.0.0.1', port: await closedPort() });
    const err = await errorOf(socket);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.cause?.code).toBe('ERR_CONNECT_FAILED');
  });

  it('a link lost to a module reboot mid-stream is ECONNRESET with ERR_MODEM_RESET as cause, never a hang', async () => {
    const { mock, modem } = await openModem();
    const server = await startEchoServer();
    defer(() => server.close());
    const socket = modem.createConnection({ host: '127.0.0.1', port: server.port });
    await echoHash(socket, Buffer.from('hello'));
    const failed = errorOf(socket);
    mock.reboot();
    const err = await failed;
    expect(err.code).toBe('ECONNRESET');
    expect(err.cause?.code).toBe('ERR_MODEM_RESET');
  });

  describe('host TLS', () => {
    it('verifies the server against `ca` and carries bytes exactly; alpnProtocol and delivery are there', async () => {
      const pki = makeTestPki();
      const { mock, modem } = await openModem();
      const server = await startTlsEchoServer(pki.serverCert, pki.serverKey);
      defer(() => server.close());
      const socket = modem.createConnection({ host: 'localhost', port: server.port, tls: true, ca: pki.caCert });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      expect('authorized' in socket && socket.authorized).toBe(true);
      expect(socket.delivery.bytesAccepted).toBeGreaterThan(0);
      const payload = randomBytes(100_000);
      expect(await echoHash(socket, payload)).toBe(sha256(payload));
      expect(mock.commands().some((c) => /^AT\+CIPSTART=\d,"TCP","localhost",/.test(c))).toBe(true);
      socket.destroy();
    });

    it('refuses a server signed by an unrelated CA, and frees the link', async () => {
      const pki = makeTestPki();
      const { mock, modem } = await openModem();
      const server = await startTlsEchoServer(pki.serverCert, pki.serverKey);
      defer(() => server.close());
      const socket = modem.createConnection({ host: 'localhost', port: server.port, tls: true, ca: pki.otherCaCert });
      const err = await errorOf(socket);
      expect(err.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
      await until(() => mock.linkState(0) !== 'CONNECTED', 10_000, 'link 0 closed');
    });

    it('a server that never answers the handshake: ETIMEDOUT after connectTimeoutMs, the link freed', async () => {
      const { mock, modem } = await openModem();
      const accepted: net.Socket[] = [];
      const silent = net.createServer((s) => {
        s.on('error', () => {});
        accepted.push(s);
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      defer(() => {
        for (const s of accepted) s.destroy();
        return new Promise<void>((r) => silent.close(() => r()));
      });
      const socket = modem.createConnection({
        host: 'localhost',
        port: (silent.address() as net.AddressInfo).port,
        tls: true,
        connectTimeoutMs: 800,
      });
      const err = await errorOf(socket);
      expect(err.code).toBe('ETIMEDOUT');
      expect(err.cause?.code).toBe('ERR_CONNECT_TIMEOUT');
      await until(() => mock.linkState(0) !== 'CONNECTED', 10_000, 'link 0 closed');
    });

    it('checks an IP target against the certificate IP entries (a localhost-only certificate is refused for 127.0.0.1)', async () => {
      const pki = makeTestPki();
      const lo = localhostOnlyCert();
      const { modem } = await openModem();
      const server = await startTlsEchoServer(lo.cert, lo.key);
      defer(() => server.close());
      const socket = modem.createConnection({ host: '127.0.0.1', port: server.port, tls: true, ca: pki.caCert });
      const err = await errorOf(socket);
      expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      // The same certificate is fine for the name it carries.
      const ok = modem.createConnection({ host: 'localhost', port: server.port, tls: true, ca: pki.caCert });
      await new Promise<void>((resolve, reject) => {
        ok.once('secureConnect', resolve);
        ok.once('error', reject);
      });
      ok.destroy();
    });
  });
});
