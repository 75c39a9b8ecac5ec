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
    const modem = await Modem.open({ path: pty.path, baudRate: 115200, rxMode, syncIntervalMs: 300, pollIntervalMs: 50 });
    cleanup.push(() => modem.close());
    const sockets = Array.from({ length: 6 }, () => modem.connect('127.0.0.1', bed.echo.port));
    await Promise.all(sockets.map((s) => once(s, 'connect')));
    const results = await Promise.all(sockets.map((s) => echoThrough(s, 1024 * 1024)));
    for (const r of results) expect(r.received).toBe(r.sent);
    for (const s of sockets) s.destroy();
  });
});
