import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions, type ModemSocket } from '../../src/modem/index.js';
import { echoThrough, firstEvent, useEchoServer, waitFor } from './helpers.js';

const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  commandTimeoutMs: 1500,
  recoveryBackoffMs: 100,
  recoveryMaxBackoffMs: 500,
  resyncTimeoutMs: 600,
};

const bed = useEchoServer();
const { cleanup } = bed;

async function open(rxMode: 'push' | 'pull', opts: ModemOpenOptions = {}) {
  const mock = new MockModem({ quirks: ['echo-after-reboot', 'boot-garbage'] });
  cleanup.push(() => mock.close());
  const modem = await Modem.open({
    stream: mock.hostStream(),
    reopen: () => mock.hostStream(),
    ...FAST,
    rxMode,
    ...opts,
  });
  cleanup.push(() => modem.close());
  return { mock, modem };
}

/** Sockets with traffic flowing (a writer that keeps writing until the socket ends). */
async function busySockets(modem: Modem, n: number): Promise<ModemSocket[]> {
  const sockets = Array.from({ length: n }, () => modem.connect('127.0.0.1', bed.echo.port));
  await Promise.all(sockets.map((s) => once(s, 'connect')));
  for (const s of sockets) {
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    const chunk = Buffer.alloc(4096, 0x55);
    const pump = () => {
      while (!s.destroyed && s.writable && s.write(chunk));
    };
    s.on('drain', pump);
    pump();
  }
  return sockets;
}

async function expectAllEnded(sockets: ModemSocket[], code: string): Promise<void> {
  const outcomes = await Promise.all(
    sockets.map((s) =>
      s.destroyed ? Promise.resolve({ name: 'close', args: [s.errored] }) : firstEvent(s, ['error', 'close'], 20_000),
    ),
  );
  for (let i = 0; i < sockets.length; i++) {
    const o = outcomes[i]!;
    if (o.name === 'error') expect(o.args[0]).toMatchObject({ code });
    await waitFor(() => sockets[i]!.destroyed, 10_000, 'socket destroyed');
  }
}

async function worksAgain(modem: Modem): Promise<void> {
  await waitFor(() => modem.state === 'online', 20_000, 'online again');
  const sockets = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
  const results = await Promise.all(
    sockets.map(async (s) => {
      await once(s, 'connect');
      return echoThrough(s, 20_000);
    }),
  );
  for (const r of results) expect(r.received).toBe(r.sent);
  for (const s of sockets) s.destroy();
}

describe.each(['push', 'pull'] as const)('faults during traffic (%s mode)', (rxMode) => {
  it('module reboot (RDY): sockets fail with ERR_MODEM_RESET, the modem comes back', async () => {
    const { mock, modem } = await open(rxMode);
    const sockets = await busySockets(modem, 3);
    const recovering = once(modem, 'recovering');
    mock.reboot({ delayMs: 50 });
    await recovering;
    // A connect made while recovering waits for the module and then works.
    const early = modem.connect('127.0.0.1', bed.echo.port);
    await expectAllEnded(sockets, 'ERR_MODEM_RESET');
    await once(early, 'connect');
    const r = await echoThrough(early, 10_000);
    expect(r.received).toBe(r.sent);
    early.destroy();
    await worksAgain(modem);
  });

  it('module reboot while a command is in flight: that command is abandoned, recovery does not wait out its timeout', async () => {
    // The module reboots with our command unanswered: the command's own timeout is far longer than
    // this test may take, so recovery must not sit behind it.
    const { mock, modem } = await open(rxMode, { commandTimeoutMs: 120_000 });
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await once(s, 'connect');
    s.on('error', () => undefined);
    mock.swallowNextFinal();
    s.write(Buffer.alloc(10, 1)); // its CIPSEND gets no final
    await waitFor(
      () => mock.commands().some((c) => c.startsWith(`AT+CIPSEND=${s.link},10`)),
      10_000,
      'the swallowed CIPSEND',
    );
    const online = new Promise<void>((resolve) => modem.on('state', (st: string) => st === 'online' && resolve()));
    mock.reboot({ delayMs: 50 });
    await online;
    await worksAgain(modem);
  }, 30_000);

  it('+PDP: DEACT: sockets fail, the bearer is brought up again', async () => {
    const { mock, modem } = await open(rxMode);
    const sockets = await busySockets(modem, 2);
    const [reason] = (await Promise.all([once(modem, 'recovering'), Promise.resolve(mock.deactivatePdp())]))[0] as [
      string,
    ];
    expect(reason).toBe('pdp');
    await expectAllEnded(sockets, 'ERR_MODEM_RESET');
    await worksAgain(modem);
  });

  it('unplug and replug: the stream is reopened and bring-up redone', async () => {
    const { mock, modem } = await open(rxMode);
    const sockets = await busySockets(modem, 2);
    mock.unplug({ replugAfterMs: 300 });
    await expectAllEnded(sockets, 'ERR_MODEM_RESET');
    await worksAgain(modem);
  });

  it('a stalled module: re-sync, then working sockets', async () => {
    const { mock, modem } = await open(rxMode);
    const sockets = await busySockets(modem, 2);
    mock.stall(2500);
    await expectAllEnded(sockets, 'ERR_MODEM_RESET');
    await worksAgain(modem);
  });

  it('a lost final result: recovery, then working sockets', async () => {
    const { mock, modem } = await open(rxMode);
    const sockets = await busySockets(modem, 2);
    mock.swallowNextFinal();
    await expectAllEnded(sockets, 'ERR_MODEM_RESET');
    await worksAgain(modem);
  });

  it('noise on the line during traffic loses no socket byte', async () => {
    const { mock, modem } = await open(rxMode);
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await once(s, 'connect');
    const run = echoThrough(s, 200_000);
    mock.injectNoise(Buffer.from("\r\n^boot.rom'v'!\r\nManufactManufact\r\n"));
    const r = await run;
    expect(r.received).toBe(r.sent);
    s.destroy();
  });

  it('peer close: the socket ends cleanly, others keep working', async () => {
    const { mock, modem } = await open(rxMode);
    const a = modem.connect('127.0.0.1', bed.echo.port);
    const b = modem.connect('127.0.0.1', bed.echo.port);
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    a.resume();
    mock.closePeer(a.link);
    await once(a, 'end');
    const r = await echoThrough(b, 50_000);
    expect(r.received).toBe(r.sent);
    b.destroy();
  });
});

describe('hard reset', () => {
  it('after repeated sync failures sends AT+CFUN=1,1 and comes back', async () => {
    const { mock, modem } = await open('push', { resetAfterSyncFailures: 1, syncIntervalMs: 200 });
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await once(s, 'connect');
    s.on('error', () => undefined);
    mock.stall(6000);
    s.write(Buffer.alloc(100));
    await waitFor(
      () => mock.transcript.some((e) => e.kind === 'command' && (e.text === 'AT+CFUN=1,1' || e.text === 'AT+RESET')),
      20_000,
      'a reset command',
    );
    await worksAgain(modem);
  });
});

describe('no way back', () => {
  it('an injected stream that closes without a reopen callback closes the modem and its sockets', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const modem = await Modem.open({ stream: mock.hostStream(), ...FAST });
    cleanup.push(() => modem.close());
    const s = modem.connect('127.0.0.1', bed.echo.port);
    await once(s, 'connect');
    const errors: Error[] = [];
    s.on('error', (e) => errors.push(e));
    const closed = once(modem, 'close');
    mock.unplug({ replugAfterMs: 60_000 });
    await closed;
    expect(modem.state).toBe('closed');
    await waitFor(() => s.destroyed, 5000, 'socket destroyed');
    expect(errors[0]).toMatchObject({ code: 'ERR_MODEM_RESET' });
    expect(() => modem.connect('127.0.0.1', bed.echo.port)).toThrow(
      expect.objectContaining({ code: 'ERR_MODEM_NOT_READY' }),
    );
  });
});
