import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MockModem, type MockModemOptions, type MockQuirk } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions, type ProgressEvent } from '../../src/modem/index.js';

const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  commandTimeoutMs: 3000,
  simTimeoutMs: 2000,
  registrationTimeoutMs: 5000,
  attachTimeoutMs: 5000,
};

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

async function openOn(
  mockOpts: MockModemOptions,
  opts: ModemOpenOptions = {},
): Promise<{ mock: MockModem; modem: Modem }> {
  const mock = new MockModem(mockOpts);
  cleanup.push(() => mock.close());
  const modem = await Modem.open({ stream: mock.hostStream(), ...FAST, ...opts });
  cleanup.push(() => modem.close());
  return { mock, modem };
}

const QUIRKS: MockQuirk[] = [
  'cgreg-for-cereg',
  'connect-no-space',
  'boot-garbage',
  'urc-after-prompt',
  'tls-close-ok',
  'echo-after-reboot',
];

describe('bring-up', () => {
  it('runs the §8 sequence in order and reports progress', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const steps: ProgressEvent['step'][] = [];
    const states: string[] = [];
    const modem = await Modem.open({
      stream: mock.hostStream(),
      ...FAST,
      apn: 'cmnet',
      onProgress: (p) => steps.push(p.step),
    });
    cleanup.push(() => modem.close());
    modem.on('state', (s: string) => states.push(s));
    expect(modem.state).toBe('online');
    expect(Modem.default).toBe(modem);
    expect(modem.ipAddress).toBe('10.83.172.111');
    const cmds = mock.transcript.filter((e) => e.kind === 'command').map((e) => e.text);
    const order = [
      'ATE0',
      'AT+CMEE=1',
      'AT+CPIN?',
      'AT+CGATT?',
      'AT+CIPSHUT',
      'AT+CIPMUX=1',
      'AT+CIPMUX?',
      'AT+CIPQSEND=1',
      'AT+CIPRXF=0',
      'AT+CIPRXGET=0',
      'AT+CIPRXGET?',
      'AT+CSTT="cmnet"',
      'AT+CIICR',
      'AT+CIFSR',
    ];
    let last = -1;
    for (const c of order) {
      const i = cmds.indexOf(c, last + 1);
      expect(i, `${c} after ${order[order.indexOf(c) - 1]}`).toBeGreaterThan(last);
      last = i;
    }
    expect(cmds.indexOf('AT')).toBeLessThan(cmds.indexOf('ATE0'));
    expect(steps[0]).toBe('sync');
    expect(steps).toContain('register');
    expect(steps).toContain('ip');
    await modem.close();
    expect(states).toEqual(['closed']);
  });

  it.each(QUIRKS)('comes online with quirk %s', async (quirk) => {
    const { modem } = await openOn({ quirks: [quirk] });
    expect(modem.state).toBe('online');
    const info = await modem.info();
    expect(info.registration?.registered).toBe(true);
    if (quirk === 'cgreg-for-cereg') expect(info.registration?.source).toBe('CGREG');
  });

  it('comes online with every quirk at once, in pull mode, waiting for registration', async () => {
    const { modem } = await openOn({ quirks: QUIRKS, registrationDelayMs: 400 }, { rxMode: 'pull' });
    expect(modem.state).toBe('online');
    expect(modem.rxMode).toBe('pull');
  });

  it.each([
    ['absent', 'ERR_SIM_ABSENT'],
    ['pin', 'ERR_SIM_PIN'],
    ['puk', 'ERR_SIM_PUK'],
  ] as const)('refuses SIM %s with %s', async (sim, code) => {
    const mock = new MockModem({ sim });
    cleanup.push(() => mock.close());
    await expect(Modem.open({ stream: mock.hostStream(), ...FAST })).rejects.toMatchObject({ code });
  });

  it('a RDY after the module already answered (autobaud: power-on messages follow the training AT) abandons ATE0, and bring-up starts over instead of failing', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const inner = mock.hostStream();
    let injected = false;
    const host: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (injected || !chunk.toString('latin1').startsWith('ATE0')) return void inner.write(chunk, cb);
        injected = true;
        // The power-on message reaches the host while ATE0 is in flight, before its answer.
        queueMicrotask(() => {
          host.push(Buffer.from('\r\nRDY\r\n', 'latin1'));
          inner.write(chunk, cb);
        });
      },
      destroy(err, cb) {
        inner.destroy();
        cb(err);
      },
    });
    inner.on('data', (b: Buffer) => host.push(b));
    inner.on('close', () => host.destroy());
    const modem = await Modem.open({ stream: host, ...FAST });
    cleanup.push(() => modem.close());
    expect(injected).toBe(true);
    expect(modem.state).toBe('online');
    const cmds = mock.transcript.filter((e) => e.kind === 'command').map((e) => e.text);
    expect(cmds.filter((c) => c === 'ATE0').length).toBeGreaterThanOrEqual(2);
  });

  it('turns the radio on (AT+CFUN=1) when AT+CFUN? finds it off, and leaves it alone when it is on', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const stream = mock.hostStream();
    // A radio left off, as a payload run as a command (AT+CFUN=0) or a user's console leaves it.
    await new Promise<void>((resolve) => {
      let seen = '';
      const onData = (d: Buffer) => {
        seen += d.toString('latin1');
        if (!seen.includes('OK\r\n')) return;
        stream.off('data', onData);
        resolve();
      };
      stream.on('data', onData);
      stream.write('AT+CFUN=0\r');
    });
    const steps: ProgressEvent['step'][] = [];
    const modem = await Modem.open({ stream, ...FAST, onProgress: (p) => steps.push(p.step) });
    cleanup.push(() => modem.close());
    expect(modem.state).toBe('online');
    const cmds = mock.transcript.filter((e) => e.kind === 'command').map((e) => e.text);
    const on = cmds.lastIndexOf('AT+CFUN=1');
    expect(on).toBeGreaterThan(cmds.indexOf('AT+CFUN?'));
    expect(on).toBeLessThan(cmds.indexOf('AT+CPIN?'));
    expect(steps).toContain('radio');

    const { mock: healthy } = await openOn({});
    expect(healthy.transcript.filter((e) => e.kind === 'command').map((e) => e.text)).not.toContain('AT+CFUN=1');
  });

  it('gives up registration after its timeout with a clear error', async () => {
    const mock = new MockModem({ registrationDelayMs: 60_000 });
    cleanup.push(() => mock.close());
    await expect(Modem.open({ stream: mock.hostStream(), ...FAST, registrationTimeoutMs: 600 })).rejects.toMatchObject({
      code: 'ERR_NOT_REGISTERED',
    });
  });

  it('refuses an APN with a quote before writing it', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    await expect(Modem.open({ stream: mock.hostStream(), ...FAST, apn: 'cm"net' })).rejects.toMatchObject({
      code: 'ERR_BAD_ARGUMENT',
    });
    expect(mock.transcript.some((e) => e.kind === 'command' && e.text.startsWith('AT+CSTT'))).toBe(false);
  });

  it('gives up sync when nothing answers', async () => {
    const { PassThrough, Duplex } = await import('node:stream');
    const sink = new PassThrough();
    const silent = Duplex.from({ writable: new PassThrough(), readable: sink });
    await expect(
      Modem.open({ stream: silent, ...FAST, syncAttempts: 2, syncIntervalMs: 100, resyncTimeoutMs: 200 }),
    ).rejects.toMatchObject({ code: 'ERR_NO_RESPONSE' });
  });
});

describe('info()', () => {
  it('parses identity, signal, registration, operator and IP', async () => {
    const { modem } = await openOn({
      firmware: 'AirM2M_780E_V1171_LTE_AT',
      model: 'Air780E',
      imei: '359759002514931',
      iccid: '89860117831003134201',
      imsi: '460011234567890',
      rssi: 25,
    });
    const info = await modem.info();
    expect(info).toMatchObject({
      firmware: 'AirM2M_780E_V1171_LTE_AT',
      model: 'Air780E',
      imei: '359759002514931',
      iccid: '89860117831003134201',
      imsi: '460011234567890',
      ipAddress: '10.83.172.111',
    });
    expect(info.signal).toMatchObject({ rssi: 25, dbm: -63, bars: 5 });
    expect(info.registration?.registered).toBe(true);
  });
});
