import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { echoThrough, useEchoServer } from './helpers.js';

const bed = useEchoServer();
const { cleanup } = bed;

describe.each(['push', 'pull'] as const)('over a real pty with serialport (%s mode)', (rxMode) => {
  it('six sockets echo 1 MB each, byte exact', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const pty = await mock.servePty();
    cleanup.push(() => pty.close());
    const modem = await Modem.open({
      path: pty.path,
      baudRate: 115200,
      rxMode,
      syncIntervalMs: 300,
      pollIntervalMs: 50,
    });
    cleanup.push(() => modem.close());
    const sockets = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
    await Promise.all(sockets.map((s) => once(s, 'connect')));
    // 12 MB through a pty takes 4 s idle and took over 30 s once in a loaded full-suite run: the
    // wait is bounded at 80 s, and a timeout says how far each socket got (slow or stuck).
    const progress = sockets.map(() => 0);
    sockets.forEach((s, i) => {
      s.on('data', (b: Buffer) => {
        progress[i] = progress[i]! + b.length;
      });
    });
    let watchdog: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      watchdog = setTimeout(
        () =>
          reject(
            new Error(`echo not complete after 80 s; bytes back per socket: ${progress.join(', ')} of ${1024 * 1024}`),
          ),
        80_000,
      );
    });
    cleanup.push(async () => clearTimeout(watchdog));
    const results = await Promise.race([Promise.all(sockets.map((s) => echoThrough(s, 1024 * 1024))), stuck]);
    for (const r of results) expect(r.received).toBe(r.sent);
    for (const s of sockets) s.destroy();
  }, 90_000);
});
