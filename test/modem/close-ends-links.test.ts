/**
 * `modem.close()` ends the module links its sockets held: `AT+CIPCLOSE` for each, so the peer
 * sees its TCP connection end (a module would otherwise keep the links until they time out, and
 * the mock's real socket behind each would keep a Node process alive) — before the port closes.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { onceConnected } from '../../src/modem/host-tls.js';
import { openInterposed, useEchoServer, waitFor } from './helpers.js';

const { cleanup } = useEchoServer();

/** A TCP server that reads and never answers; records when each accepted connection ends. */
async function startSink(): Promise<{ port: number; accepted: number; ended: number }> {
  const state = { port: 0, accepted: 0, ended: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    state.accepted++;
    sockets.add(c);
    c.on('error', () => undefined);
    c.on('end', () => state.ended++);
    c.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  state.port = (server.address() as AddressInfo).port;
  return state;
}

describe('Modem.close()', () => {
  for (const rxMode of ['push', 'pull'] as const) {
    it(`sends AT+CIPCLOSE for each open link before closing the port (${rxMode} rx)`, async () => {
      const sink = await startSink();
      const { modem, wire } = await openInterposed(cleanup, rxMode, 'plain');
      const a = modem.connect('127.0.0.1', sink.port);
      const b = modem.connect('127.0.0.1', sink.port);
      await Promise.all([onceConnected(a), onceConnected(b)]);
      await waitFor(() => sink.accepted === 2, 10_000, 'both connections accepted');
      const links = [a.link, b.link].sort();

      await modem.close();

      // `<n>, CLOSE OK` answers AT+CIPCLOSE=<n> (a peer close would be `<n>, CLOSED`).
      const closes = wire.moduleLines.filter((l) => /^\d, CLOSE OK$/.test(l)).sort();
      expect(closes).toEqual(links.map((n) => `${n}, CLOSE OK`));
      // The peer saw both connections end, though the mock (cleanup) is still running.
      await waitFor(() => sink.ended === 2, 10_000, 'both server-side connections ended');
      expect(a.destroyed && b.destroyed).toBe(true);
    });
  }
});
