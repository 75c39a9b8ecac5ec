/**
 * A socket destroyed while its module-TLS link is being set up (SSLCFG, CA upload) must not go on
 * to AT+CIPSTART: its release already gave the link id up, possibly to the next socket.
 */
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemSocket } from '../../src/modem/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { startTlsEchoServer, type TestServer } from '../helpers/servers.js';
import { echoThrough, waitFor } from './helpers.js';

let pki: TestPki;
let echo: TestServer;
beforeAll(async () => {
  pki = makeTestPki();
  echo = await startTlsEchoServer(pki.serverCert, pki.serverKey);
});
afterAll(async () => {
  await echo.close();
});

/** Passes bytes both ways; calls `onWrite` with each host write before the module gets it. */
function tap(inner: Duplex, onWrite: (text: string) => void): Duplex {
  const outer = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      onWrite(chunk.toString('latin1'));
      inner.write(chunk, cb);
    },
    destroy(err, cb) {
      inner.destroy();
      cb(err);
    },
  });
  inner.on('data', (b: Buffer) => outer.push(b));
  inner.on('end', () => outer.push(null));
  return outer;
}

it('a module-TLS socket destroyed during its SSLCFG set-up sends no CIPSTART; the next socket gets a working link', async () => {
  const mock = new MockModem();
  let victim: ModemSocket | undefined;
  const stream = tap(mock.hostStream(), (text) => {
    if (victim && text.startsWith('AT+SSLCFG="sslversion"')) {
      victim.destroy();
      victim = undefined;
    }
  });
  const modem = await Modem.open({ stream, syncIntervalMs: 300, commandTimeoutMs: 5000 });
  try {
    const first = modem.connect('localhost', echo.port, { tls: 'modem', ca: pki.caCert });
    const errors: Array<string | undefined> = [];
    first.on('error', (e: Error & { code?: string }) => errors.push(e.code));
    victim = first;
    await waitFor(() => first.destroyed, 10_000, 'the first socket destroyed');
    const second = modem.connect('localhost', echo.port, { tls: 'modem', ca: pki.caCert });
    await once(second, 'connect');
    const r = await echoThrough(second, 3000);
    expect(r.received).toBe(r.sent);
    second.destroy();
    // One CIPSTART in all: the second socket's.
    expect(mock.commands().filter((c) => c.startsWith('AT+CIPSTART=')).length).toBe(1);
    expect(errors.every((c) => c === undefined || c === 'ERR_LINK_CLOSED')).toBe(true);
  } finally {
    await modem.close();
    mock.close();
  }
});
