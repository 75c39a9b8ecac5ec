import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { makeTestPki } from '../helpers/certs.js';
import { startEchoServer, startTlsEchoServer } from '../helpers/servers.js';
import { bringUpMulti, type RawClient } from './raw-client.js';
import { mockHarness } from './harness.js';

const { cleanups, setup } = mockHarness();

/** Upload a file with FSCREATE/FSWRITE, asserting the prompt and exact-length handling. */
async function upload(c: RawClient, name: string, content: string): Promise<void> {
  const data = Buffer.from(content, 'latin1');
  await c.cmd(`AT+FSCREATE="${name}"\r`, '\r\nOK\r\n');
  await c.cmd(`AT+FSWRITE="${name}",0,${data.length},15\r\n`, '\r\n> ');
  await c.cmd(data, '\r\nOK\r\n');
}

async function tlsEcho(): Promise<number> {
  const pki = makeTestPki();
  const s = await startTlsEchoServer(pki.serverCert, pki.serverKey);
  cleanups.push(() => s.close());
  return s.port;
}

describe('module TLS (§5)', () => {
  test('seclevel 1 with the right CA uploaded: CONNECT OK, SNI sent, data round-trips', async () => {
    const pki = makeTestPki();
    let sni: string | undefined;
    const server = tls.createServer({ cert: pki.serverCert, key: pki.serverKey }, (s) => {
      sni = (s as tls.TLSSocket & { servername?: string }).servername;
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const { c } = setup();
    await bringUpMulti(c);
    await upload(c, 'ca.crt', pki.caCert);
    await c.cmd('AT+SSLCFG="sslversion",0,4\r', '\r\nOK\r\n');
    await c.cmd('AT+SSLCFG="seclevel",0,1\r', '\r\nOK\r\n');
    await c.cmd('AT+SSLCFG="cacert",0,"ca.crt"\r', '\r\nOK\r\n');
    await c.cmd('AT+SSLCFG="cacert",0\r', '\r\n+SSLCFG: "cacert",0,"ca.crt"\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPSSL=1\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=0,"TCP","localhost",${port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT OK\r\n');
    expect(sni).toBe('localhost');
    await c.cmd('AT+CIPSEND=0,6\r\n', '\r\n> ');
    await c.cmd('secret', '\r\nDATA ACCEPT:0,6\r\n');
    await c.expect('\r\n+RECEIVE,0,6:\r\nsecret');
    server.close();
  });

  test('seclevel 1 with the wrong CA: CONNECT FAIL; seclevel 0 with the same file: CONNECT OK', async () => {
    const pki = makeTestPki();
    const port = await tlsEcho();
    const { c } = setup();
    await bringUpMulti(c);
    await upload(c, 'other.crt', pki.otherCaCert);
    await c.cmd('AT+SSLCFG="sslversion",0,3;+SSLCFG="seclevel",0,1;+SSLCFG="cacert",0,"other.crt"\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPSSL=1\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=0,"TCP","localhost",${port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT FAIL\r\n');
    await c.cmd('AT+SSLCFG="seclevel",0,0\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=0,"TCP","localhost",${port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT OK\r\n');
  });

  test('without sslversion every TLS connect fails; with CIPSSL=1 a plaintext port fails; CIPSSL per-link form refused', async () => {
    const port = await tlsEcho();
    const plain = await startEchoServer();
    cleanups.push(() => plain.close());
    const { c } = setup();
    await bringUpMulti(c);
    await c.cmd('AT+CIPSSL=0,1\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPSSL=1\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=0,"TCP","localhost",${port}\r`, '\r\nOK\r\n\r\n0, CONNECT FAIL\r\n');
    await c.cmd('AT+SSLCFG="sslversion",1,4\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=1,"TCP","127.0.0.1",${plain.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n1, CONNECT FAIL\r\n');
    await c.cmd(`AT+CIPSTART=1,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n1, CONNECT OK\r\n');
  });

  test('tls-close-ok quirk: a TLS peer close arrives as an unsolicited CLOSE OK and unread data is gone', async () => {
    const pki = makeTestPki();
    const server = tls.createServer({ cert: pki.serverCert, key: pki.serverKey }, (s) => {
      s.on('error', () => {});
      s.end('bye');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    for (const quirk of [true, false]) {
      const { c } = setup({ quirks: quirk ? ['tls-close-ok'] : [] });
      await bringUpMulti(c, { rxget: 1 });
      await c.cmd('AT+SSLCFG="sslversion",0,4;+CIPSSL=1\r', '\r\nOK\r\n');
      await c.cmd(`AT+CIPSTART=0,"TCP","localhost",${port}\r`, '\r\nOK\r\n');
      await c.expect('\r\n0, CONNECT OK\r\n\r\n+CIPRXGET: 1,0\r\n');
      if (quirk) {
        await c.expect('\r\n0, CLOSE OK\r\n');
        await c.cmd('AT+CIPRXGET=2,0,100\r', '\r\n+CME ERROR: 3\r\n');
      } else {
        await c.cmd('AT+CIPRXGET=2,0,100\r', '\r\n+CIPRXGET: 2,0,3,0\r\nbye\r\n\r\nOK\r\n\r\n0, CLOSED\r\n');
      }
    }
  });

  test('file system: FSWRITE takes exactly the announced bytes, append mode, FSLS, FSREAD, FSDEL', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+FSWRITE="nofile",0,3,5\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+FSCREATE="a.txt"\r', '\r\nOK\r\n');
    await c.cmd('AT+FSWRITE="a.txt",0,5,5\r\n', '\r\n> ');
    await c.write('abc');
    await c.expectSilence(100);
    await c.cmd('de', '\r\nOK\r\n');
    await c.cmd('AT+FSWRITE="a.txt",1,2,5\r\n', '\r\n> ');
    await c.cmd('\r\n', '\r\nOK\r\n');
    await c.cmd('AT+FSLS\r', '\r\na.txt\r\n\r\nOK\r\n');
    await c.cmd('AT+FSREAD="a.txt"\r', '\r\nabcde\r\n\r\n\r\nOK\r\n');
    await c.cmd('AT+FSDEL="a.txt"\r', '\r\nOK\r\n');
    await c.cmd('AT+FSDEL="a.txt"\r', '\r\n+CME ERROR: 3\r\n');
  });
});
