import { describe, expect, test } from 'vitest';
import { MockError } from '../../src/mock/index.js';
import { bringUpMulti, RawClient } from './raw-client.js';
import { mockHarness } from './harness.js';

const { setup, greetingServer: server } = mockHarness({ rebootDelayMs: 50 });

const BOOT_URCS =
  '\r\nRDY\r\n\r\n^MODE: 17,17\r\n\r\n+E_UTRAN Service\r\n\r\n+CGEV: ME PDN ACT 1\r\n\r\n+NITZ: 24/07/23,08:35:01+32,0\r\n';
const C_INITIAL = [0, 1, 2, 3, 4, 5].map((n) => `\r\nC: ${n},,"","","","INITIAL"\r\n`).join('');

describe('quirks', () => {
  test('cgreg-for-cereg', async () => {
    const { c } = setup({ quirks: ['cgreg-for-cereg'] });
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('AT+CEREG?\r', '\r\n+CGREG: 0,1\r\n\r\nOK\r\n');
  });

  test('connect-no-space', async () => {
    const s = await server();
    const { c } = setup({ quirks: ['connect-no-space'] });
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0,CONNECT OK\r\n');
  });

  test('boot-garbage before RDY after a reboot', async () => {
    const { c } = setup({ quirks: ['boot-garbage'] });
    await c.cmd('AT+RESET\r', `AT+RESET\r\r\nOK\r\n^boot.rom'v'!${BOOT_URCS}`);
  });

  test('urc-after-prompt', async () => {
    const s = await server();
    const { c } = setup({ quirks: ['urc-after-prompt'] });
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.cmd('AT+CIPSEND=0,2\r\n', '\r\n> \r\n+NITZ: 24/07/23,08:35:01+32,0\r\n');
    await c.cmd('hi', '\r\nDATA ACCEPT:0,2\r\n');
  });

  test('echo after reboot: a saved ATE0 survives a reboot unless the quirk is on', async () => {
    for (const quirk of [false, true]) {
      const { c } = setup({ quirks: quirk ? ['echo-after-reboot'] : [] });
      await c.cmd('ATE0;&W\r', 'ATE0;&W\r\r\nOK\r\n');
      await c.cmd('AT+CFUN=1,1\r', `\r\nOK\r\n${BOOT_URCS}`);
      await c.cmd('AT\r', quirk ? 'AT\r\r\nOK\r\n' : '\r\nOK\r\n');
    }
  });
});

describe('faults', () => {
  test('reboot drops links, sends RDY and boot URCs, resets state and echo', async () => {
    const s = await server();
    const { mock, c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await expect.poll(() => s.sockets.length, { timeout: 10_000 }).toBe(1);
    const closed = new Promise((r) => s.sockets[0]!.once('close', r));
    mock.applyFault('reboot');
    await c.expect(BOOT_URCS);
    await closed;
    await c.cmd('AT+CIPSTATUS\r', 'AT+CIPSTATUS\r\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n');
  });

  test('pdp: +PDP: DEACT, links unusable until CIPSHUT, then bring-up works again', async () => {
    const s = await server();
    const { mock, c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    mock.applyFault('pdp');
    await c.expect('\r\n+PDP: DEACT\r\n');
    await c.cmd('AT+CIPSEND=0,1\r', '\r\n+CME ERROR: 3\r\n');
    await c.cmd(`AT+CIPSTART=1,"TCP","127.0.0.1",${s.port}\r`, '\r\n+CME ERROR: 3\r\n');
    await c.cmd(
      'AT+CIPSTATUS\r',
      '\r\nOK\r\n\r\nSTATE: PDP DEACT\r\n' +
        C_INITIAL.replace('\r\nC: 0,,"","","","INITIAL"\r\n', `\r\nC: 0,0,"TCP","127.0.0.1","${s.port}","CLOSED"\r\n`),
    );
    await bringUpMulti(c, { echoOff: true });
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
  });

  test('close <n>: "<n>, CLOSED" only after the data that came before it (push and pull)', async () => {
    const s = await server('DATA');
    const { mock, c } = setup();
    await bringUpMulti(c);
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.expect('\r\n+RECEIVE,0,4:\r\nDATA');
    mock.applyFault('close 0');
    await c.expect('\r\n0, CLOSED\r\n');

    await c.cmd('AT+CIPRXGET=1\r', '\r\nOK\r\n');
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${s.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n\r\n+CIPRXGET: 1,0\r\n');
    mock.closePeer(0);
    await c.expectSilence(100); // CLOSED is withheld while unread data remains
    await c.cmd('AT+CIPRXGET=2,0,2\r', '\r\n+CIPRXGET: 2,0,2,2\r\nDA\r\n\r\nOK\r\n');
    await c.cmd('AT+CIPRXGET=2,0,100\r', '\r\n+CIPRXGET: 2,0,2,0\r\nTA\r\n\r\nOK\r\n\r\n0, CLOSED\r\n');
    await c.cmd('AT+CIPRXGET=2,0,100\r', '\r\n+CME ERROR: 3\r\n');
  });

  test('noise, swallow, stall', async () => {
    const { mock, c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    mock.applyFault('noise 32');
    expect((await c.read(32)).length).toBe(32);
    mock.applyFault('swallow');
    await c.write('AT+CSQ\r');
    await c.expect('\r\n+CSQ: 19,0\r\n');
    await c.cmd('AT\r', '\r\nOK\r\n'); // the swallowed OK never came; the next one does
    mock.applyFault('stall 300');
    await c.write('AT\r');
    await c.expectSilence(200);
    await c.expect('\r\nOK\r\n');
  });

  test('unplug: the stream errors, hostStream() refuses, and after replug a new stream finds a booted module', async () => {
    const { mock, c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    const replugged = new Promise((r) => mock.once('replug', r));
    mock.applyFault('unplug 200');
    await expect.poll(() => c.error, { timeout: 10_000 }).toBeInstanceOf(MockError);
    expect((c.error as MockError).code).toBe('ERR_MOCK_UNPLUGGED');
    expect(() => mock.hostStream()).toThrow(/unplugged/);
    await replugged;
    const c2 = new RawClient(mock.hostStream());
    await c2.expect(BOOT_URCS);
    await c2.cmd('AT\r', 'AT\r\r\nOK\r\n');
  });

  test('bad fault specs are refused before anything is applied', () => {
    const { mock } = setup();
    expect(() => mock.applyFault('swallow\nexplode')).toThrow(expect.objectContaining({ code: 'ERR_MOCK_FAULT_SPEC' }));
    expect(() => mock.applyFault('close 9')).toThrow(/link id/);
    expect(() => mock.applyFault('stall')).toThrow(/stall time/);
  });
});

describe('transcript', () => {
  test('records commands and sent bytes, bounded', async () => {
    const { mock, c } = setup({ transcriptMaxEntries: 4 });
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await c.cmd('ATI\r', '\r\nAirM2M_780E_V1171_LTE_AT\r\n\r\nOK\r\n');
    expect(mock.commands()).toContain('ATI');
    expect(mock.sentText()).toContain('AirM2M_780E_V1171_LTE_AT');
    for (let i = 0; i < 5; i++) await c.cmd('AT\r', '\r\nOK\r\n');
    expect(mock.transcript.length).toBeLessThanOrEqual(4);
    expect(mock.transcript.at(-1)).toMatchObject({ kind: 'sent', text: '\r\nOK\r\n' });
  });
});
