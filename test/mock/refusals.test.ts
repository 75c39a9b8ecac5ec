import { describe, test } from 'vitest';
import { closedPort } from '../helpers/servers.js';
import { bringUpMulti } from './raw-client.js';
import { mockHarness } from './harness.js';

const { setup, greetingServer } = mockHarness();
const server = async (greeting = ''): Promise<number> => (await greetingServer(greeting)).port;

describe('dialect basics', () => {
  test('lower-case at, \\r\\n terminator, unknown command, CMEE modes, several commands per line', async () => {
    const { c } = setup();
    await c.cmd('at\r\n', 'at\r\r\nOK\r\n');
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIICRR\r', '\r\nERROR\r\n');
    await c.cmd('AT+CSTT;+CSTT\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CMEE=2\r', '\r\nOK\r\n');
    await c.cmd('AT+CSTT\r', '\r\n+CME ERROR: operation not allowed\r\n');
    await c.cmd('AT+CMEE=0\r', '\r\nOK\r\n');
    await c.cmd('AT+CSTT\r', '\r\nERROR\r\n');
    await c.cmd('AT+CMEE=1;+CMEE?\r', '\r\n+CMEE: 1\r\n\r\nOK\r\n');
    await c.cmd('AT+IPR=115200;&W\r', '\r\nOK\r\n');
    await c.cmd('AT+CFUN?;+CGMR\r', '\r\n+CFUN: 1\r\n\r\n+CGMR: "AirM2M_780E_V1171_LTE_AT"\r\n\r\nOK\r\n');
  });

  test('identity and status commands', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CGMI\r', '\r\n+CGMI: "AirM2M"\r\n\r\nOK\r\n');
    await c.cmd('AT+CGMM\r', '\r\n+CGMM: "Air780E"\r\n\r\nOK\r\n');
    await c.cmd('AT+CCID\r', '\r\n89860117831003134201\r\n\r\nOK\r\n');
    await c.cmd('AT+CIMI\r', '\r\n460011234567890\r\n\r\nOK\r\n');
    await c.cmd('AT+CESQ\r', '\r\n+CESQ: 99,99,255,255,31,41\r\n\r\nOK\r\n');
    await c.cmd('AT+CREG?\r', '\r\n+CREG: 0,1\r\n\r\nOK\r\n');
    await c.cmd('AT+CEREG?\r', '\r\n+CEREG: 0,1\r\n\r\nOK\r\n');
    await c.cmd('AT+CGREG?\r', '\r\n+CGREG: 0,1\r\n\r\nOK\r\n');
    await c.cmd('AT+COPS?\r', '\r\n+COPS: 0,2,"46001",7\r\n\r\nOK\r\n');
    await c.cmd('AT+IPR?\r', '\r\n+IPR: 115200\r\n\r\nOK\r\n');
    await c.cmd('AT+IFC=2,2\r', '\r\nOK\r\n');
    await c.cmd('AT+IFC?\r', '\r\n+IFC: 2,2\r\n\r\nOK\r\n');
  });

  test('SIM absent, SIM PIN then unlock, registration after a delay', async () => {
    const absent = setup({ sim: 'absent' }).c;
    await absent.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await absent.cmd('AT+CPIN?\r', '\r\n+CME ERROR: 10\r\n');
    await absent.cmd('AT+CREG?\r', '\r\n+CREG: 0,0\r\n\r\nOK\r\n');

    // The three queries after the unlock must be answered within the delay, an upper bound on
    // their time: 1 s instead of 300 ms so that a worker stalled on a loaded machine still makes it.
    const { c } = setup({ sim: 'pin', registrationDelayMs: 1000 });
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CPIN?\r', '\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n');
    await c.cmd('AT+CPIN="0000"\r', '\r\n+CME ERROR: 16\r\n');
    await c.cmd('AT+CPIN="1234"\r', '\r\nOK\r\n');
    await c.cmd('AT+CPIN?\r', '\r\n+CPIN: READY\r\n\r\nOK\r\n');
    await c.cmd('AT+CEREG?\r', '\r\n+CEREG: 0,2\r\n\r\nOK\r\n');
    await c.cmd('AT+CGATT?\r', '\r\n+CGATT: 0\r\n\r\nOK\r\n');
    await new Promise((r) => setTimeout(r, 1050));
    await c.cmd('AT+CEREG?\r', '\r\n+CEREG: 0,1\r\n\r\nOK\r\n');
    await c.cmd('AT+CGATT?\r', '\r\n+CGATT: 1\r\n\r\nOK\r\n');
  });
});

describe('state-machine refusals (air780e-at.md §4)', () => {
  test('CIICR outside IP START, CIPSTART before CIFSR, CIFSR without bearer', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIPMUX=1\r', '\r\nOK\r\n');
    await c.cmd('AT+CIICR\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIFSR\r', '\r\nERROR\r\n');
    await c.cmd('AT+CSTT\r', '\r\nOK\r\n');
    await c.cmd('AT+CIICR\r', '\r\nOK\r\n');
    await c.cmd('AT+CIPSTART=0,"TCP","127.0.0.1",80\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd(
      'AT+CIPSTATUS\r',
      '\r\nOK\r\n\r\nSTATE: IP GPRSACT\r\n' +
        [0, 1, 2, 3, 4, 5].map((n) => `\r\nC: ${n},,"","","","INITIAL"\r\n`).join(''),
    );
  });

  test('CIPSTART with a link id in single mode and without one in multi mode', async () => {
    const { c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CIPSTART=0,"TCP","127.0.0.1",80\r', '\r\n+CME ERROR: 3\r\n');
    await bringUpMulti(c, { echoOff: true });
    await c.cmd('AT+CIPSTART="TCP","127.0.0.1",80\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPSTART=6,"TCP","127.0.0.1",80\r', '\r\n+CME ERROR: 3\r\n');
  });

  test('CIPSTART on a held id: +CME ERROR: 65535 then "<n>, ALREADY CONNECT"', async () => {
    const port = await server();
    const { c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=2,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n2, CONNECT OK\r\n');
    await c.cmd(`AT+CIPSTART=2,"TCP","127.0.0.1",${port}\r`, '\r\n+CME ERROR: 65535\r\n\r\n2, ALREADY CONNECT\r\n');
    await c.cmd('AT+CIPSTATUS=2\r', `\r\n2,0,"TCP","127.0.0.1","${port}","CONNECTED"\r\n\r\nOK\r\n`);
  });

  test('refused connect: CONNECT FAIL; CIPCLOSE on it: CME 3; the id accepts a new CIPSTART; CIPMUX refused while a link exists', async () => {
    const dead = await closedPort();
    const port = await server();
    const { c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=1,"TCP","127.0.0.1",${dead}\r`, '\r\nOK\r\n\r\n1, CONNECT FAIL\r\n');
    await c.cmd('AT+CIPCLOSE=1\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPSEND=1,5\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd(`AT+CIPSTART=1,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n1, CONNECT OK\r\n');
    await c.cmd('AT+CIPCLOSE=1\r', '\r\n1, CLOSE OK\r\n');
    await c.cmd('AT+CIPMUX=0\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPMUX?\r', '\r\n+CIPMUX: 1\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPSHUT\r', '\r\nSHUT OK\r\n');
    await c.cmd('AT+CIPMUX=0\r', '\r\nOK\r\n');
  });

  test('unresolvable name gives CONNECT FAIL after the DNS delay; a black-holed address stays silent', async () => {
    const { c } = setup({
      dnsFailDelayMs: 50,
      blackhole: ['192.0.2.1'],
      resolve: (h) => (h === 'good' ? '127.0.0.1' : h === '192.0.2.1' ? h : undefined),
    });
    await bringUpMulti(c);
    await c.cmd('AT+CIPSTART=0,"TCP","no.such.host",80\r', '\r\nOK\r\n');
    await c.expect('\r\n0, CONNECT FAIL\r\n');
    await c.cmd('AT+CIPSTART=1,"TCP","192.0.2.1",80\r', '\r\nOK\r\n');
    await c.expectSilence(300);
    await c.cmd('AT+CIPCLOSE=1\r', '\r\n1, CLOSE OK\r\n');
  });

  test('CIPSEND: length over 1460 refused, no prompt on a closed link, leading \\n swallowed after a bare \\r', async () => {
    const port = await server();
    const { c } = setup();
    await bringUpMulti(c, { qsend: 1 });
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.cmd('AT+CIPSEND=0,1461\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPSEND=3,5\r', '\r\n+CME ERROR: 3\r\n');
    // Command ends with a bare \r and the payload starts with \n: that \n is eaten, so the module
    // waits for one more byte.
    await c.cmd('AT+CIPSEND=0,3\r', '\r\n> ');
    await c.write('\nab');
    await c.expectSilence(150);
    await c.cmd('c', '\r\nDATA ACCEPT:0,3\r\n');
    await c.expect('\r\n+RECEIVE,0,3:\r\nabc');
  });

  test('CIPSEND without a length: ESC aborts (OK, nothing sent), Ctrl-Z sends; the first terminator wins', async () => {
    const port = await server();
    const { c } = setup();
    await bringUpMulti(c, { qsend: 1 });
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.cmd('AT+CIPSEND=0\r', '\r\n> ');
    await c.cmd('xy\x1bz\x1a', '\r\nOK\r\n'); // ESC first: aborted; "z" + Ctrl-Z are left for the command parser
    await c.cmd('\rAT\r', '\r\nOK\r\n'); // which drops them as a line without "AT"
    await c.cmd('AT+CIPSEND=0\r', '\r\n> ');
    await c.cmd('ab\x1a\x1b\r', '\r\nDATA ACCEPT:0,2\r\n'); // Ctrl-Z first: sent; the ESC is a stray line
    // The echo server returns only "ab": "xy" never left the module.
    await c.expect('\r\n+RECEIVE,0,2:\r\nab');
  });

  test('pull-mode read limits: hex over 730 and binary over 1460 refused without consuming', async () => {
    const port = await server('xyz');
    const { c } = setup();
    await bringUpMulti(c, { rxget: 1 });
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.expect('\r\n+CIPRXGET: 1,0\r\n');
    await c.cmd('AT+CIPRXGET=3,0,731\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPRXGET=2,0,1461\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd('AT+CIPRXGET=4,0\r', '\r\n+CIPRXGET: 4,0,3\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPRXGET=3,0,730\r', '\r\n+CIPRXGET: 3,0,3,0\r\n78797A\r\n\r\nOK\r\n');
  });

  test('CIPACK counts sent, flushed and outstanding bytes', async () => {
    const port = await server();
    const { c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.cmd('AT+CIPACK=0\r', '\r\n+CIPACK: 0,0,0\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPSEND=0,4\r\n', '\r\n> ');
    await c.cmd('ping', '\r\nDATA ACCEPT:0,4\r\n');
    await c.expect('\r\n+RECEIVE,0,4:\r\nping');
    await c.cmd('AT+CIPACK=0\r', '\r\n+CIPACK: 4,4,0\r\n\r\nOK\r\n');
  });

  test('CDNSGIP before and after the bearer', async () => {
    const { c } = setup({ resolve: (h) => (h === 'example.com' ? '93.184.216.34' : undefined) });
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CDNSGIP="example.com"\r', '\r\n+CME ERROR: 3\r\n');
    await bringUpMulti(c, { echoOff: true });
    await c.cmd('AT+CDNSGIP="example.com"\r', '\r\nOK\r\n\r\n+CDNSGIP: 1,"example.com","93.184.216.34"\r\n');
    await c.cmd('AT+CDNSGIP="nope.invalid"\r', '\r\nOK\r\n\r\n+CDNSGIP:0,10\r\n');
  });
});
