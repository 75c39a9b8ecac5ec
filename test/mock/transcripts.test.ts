import { describe, expect, test } from 'vitest';
import { makeTestPki } from '../helpers/certs.js';
import { startTlsEchoServer } from '../helpers/servers.js';
import { bringUpMulti, startGreetingServer } from './raw-client.js';
import { mockHarness } from './harness.js';

// Every transcript of air780e-at.md §7, byte-exact, through a raw client.

const { cleanups, setup } = mockHarness({
  resolve: (h) =>
    h === 'example.com' || h === 'localhost' ? '127.0.0.1' : h.match(/^\d+\.\d+\.\d+\.\d+$/) ? h : undefined,
});

describe('§7 transcripts', () => {
  test('7.1 probe and identify (echo on at first)', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('ATI\r', '\r\nAirM2M_780E_V1171_LTE_AT\r\n\r\nOK\r\n');
    await c.cmd('AT+CGSN\r', '\r\n359759002514931\r\n\r\nOK\r\n');
    await c.cmd('AT+ICCID\r', '\r\n+ICCID: 89860117831003134201\r\n\r\nOK\r\n');
    await c.cmd('AT+CPIN?\r', '\r\n+CPIN: READY\r\n\r\nOK\r\n');
    await c.cmd('AT+CSQ\r', '\r\n+CSQ: 19,0\r\n\r\nOK\r\n');
    await c.cmd('AT+CGATT?\r', '\r\n+CGATT: 1\r\n\r\nOK\r\n');
  });

  test('7.2 multi-link bring-up, connect, send, push receive, close; then a peer close', async () => {
    const srv = await startGreetingServer('');
    cleanups.push(() => srv.close());
    const { c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","example.com",${srv.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT OK\r\n');
    await c.cmd('AT+CIPSEND=0,5\r\n', '\r\n> ');
    await c.cmd('hello', '\r\nDATA ACCEPT:0,5\r\n');
    await c.expect('\r\n+RECEIVE,0,5:\r\nhello');
    await c.cmd('AT+CIPCLOSE=0\r', '\r\n0, CLOSE OK\r\n');

    await c.cmd(`AT+CIPSTART=0,"TCP","example.com",${srv.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT OK\r\n');
    await expect.poll(() => srv.sockets.length, { timeout: 10_000 }).toBe(2);
    srv.sockets[1]!.end();
    await c.expect('\r\n0, CLOSED\r\n');
    await c.cmd('AT+CIPSEND=0,5\r', '\r\n+CME ERROR: 3\r\n');
  });

  test('7.2 with CIPRXF=0 and CIPQSEND=0: trailing CRLF and "0, SEND OK"', async () => {
    const srv = await startGreetingServer('TEST123');
    cleanups.push(() => srv.close());
    const { c } = setup();
    await bringUpMulti(c, { rxf: 0, qsend: 0 });
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${srv.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT OK\r\n');
    await c.expect('\r\n+RECEIVE,0,7:\r\nTEST123\r\n');
    await c.cmd('AT+CIPSEND=0,5\r\n', '\r\n> ');
    await c.cmd('hello', '\r\n0, SEND OK\r\n');
    await c.expect('\r\n+RECEIVE,0,5:\r\nhello\r\n');
  });

  test('7.3 single link with header, variable-length send, close, status, shut', async () => {
    const srv = await startGreetingServer('TEST');
    cleanups.push(() => srv.close());
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIPQSEND=1\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPRXF=1\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPHEAD=1\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART="TCP","127.0.0.1",${srv.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\nCONNECT OK\r\n');
    await c.expect('\r\n+IPD,4:TEST');
    await c.cmd('AT+CIPSEND\r\n', '\r\n> ');
    await c.cmd('1234567890\x1a', '\r\nDATA ACCEPT:10\r\n');
    await c.expect('\r\n+IPD,10:1234567890');
    await c.cmd('AT+CIPCLOSE\r', '\r\nCLOSE OK\r\n');
    await c.cmd('AT+CIPSTATUS\r', '\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n');
    await c.cmd('AT+CIPSHUT\r', '\r\nSHUT OK\r\n');
    await c.cmd('AT+CIFSR\r', '\r\nERROR\r\n');
  });

  test('7.3 connection failure (single link): STATE line then CONNECT FAIL', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CSTT\r', '\r\nOK\r\n');
    await c.cmd('AT+CIICR\r', '\r\nOK\r\n');
    await c.cmd('AT+CIFSR\r', '\r\n10.83.172.111\r\n');
    await c.cmd('AT+CIPSTART="TCP",\u201d112.125.89.8\u201c,37076\r', '\r\nOK\r\n');
    await c.expect('\r\nSTATE: IP STATUS\r\n\r\nCONNECT FAIL\r\n');
  });

  test('7.4 pull mode: URC once, binary read, hex reads, size', async () => {
    const a = await startGreetingServer('AAAAA');
    const b = await startGreetingServer('ABCD');
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIPRXGET=1\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPMUX=1\r', '\r\nOK\r\n');
    await c.cmd('AT+CSTT\r', '\r\nOK\r\n');
    await c.cmd('AT+CIICR\r', '\r\nOK\r\n');
    await c.cmd('AT+CIFSR\r', '\r\n10.83.172.111\r\n');
    await c.cmd(`AT+CIPSTART=3,"TCP","127.0.0.1",${a.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n3, CONNECT OK\r\n');
    await c.expect('\r\n+CIPRXGET: 1,3\r\n');
    await c.cmd('AT+CIPRXGET=2,3,10\r', '\r\n+CIPRXGET: 2,3,5,0\r\nAAAAA\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPRXGET=5\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${b.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT OK\r\n');
    await c.expect('\r\n+CIPRXGET: 1,0\r\n');
    await c.cmd('AT+CIPRXGET=3,0,720\r', '\r\n+CIPRXGET: 3,0,4,0\r\n41424344\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPRXGET=3,0,720\r', '\r\n+CIPRXGET: 3,0,0,0\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPRXGET=4,3\r', '\r\n+CIPRXGET: 4,3,0\r\n\r\nOK\r\n');
  });

  test('7.5 TLS single link, no verification', async () => {
    const pki = makeTestPki();
    const srv = await startTlsEchoServer(pki.serverCert, pki.serverKey);
    cleanups.push(() => srv.close());
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIPMUX=0\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPQSEND=1\r', '\r\nOK\r\n');
    await c.cmd('AT+SSLCFG="sslversion",0,4\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPSSL=1\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPSSL?\r', '\r\n+CIPSSL: 1\r\n\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART="TCP","example.com",${srv.port}\r`, '\r\nOK\r\n');
    await c.expect('\r\nCONNECT OK\r\n');
    await c.cmd('AT+CIPSEND=10\r\n', '\r\n> ');
    await c.cmd('1234567890', '\r\nDATA ACCEPT:10\r\n');
    await c.expect('1234567890'); // CIPHEAD=0: raw data, no header
    await c.cmd('AT+CIPSHUT\r', '\r\nSHUT OK\r\n');
    await c.cmd('AT+CIPSSL=0\r', '\r\nOK\r\n');
  });

  test('7.6 PDP loss and bearer errors', async () => {
    const { c } = setup();
    await bringUpMulti(c);
    // Detaching drops the bearer; re-activation then fails as in the field log.
    await c.cmd('AT+CGATT=0\r', '\r\n+PDP: DEACT\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPSHUT\r', '\r\nSHUT OK\r\n');
    await c.cmd('AT+CSTT\r', '\r\nOK\r\n');
    await c.cmd('AT+CSTT\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIICR\r', '\r\n+PDP: DEACT\r\n\r\n+CME ERROR: 65535\r\n');
  });

  test('7.7 transparent mode is refused as unsupported (the mock models non-transparent mode only)', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIPMODE=1\r', '\r\n+CME ERROR: 4\r\n');
  });
});
