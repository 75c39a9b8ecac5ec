/**
 * Modem driver bugs found while testing the websocket client through the module. Each test states
 * the correct behaviour; while a bug is open its test is marked `it.fails` (vitest reports it as
 * soon as the bug is fixed: remove `.fails` then). Both orders of each race: test/modem/close-races.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { openModem, until } from './helpers.js';

let echo: TestServer;
beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  await echo.close();
});

// Seen first with wss in host-TLS mode: the server sends its close frame, TLS close_notify and
// FIN; our TLS layer answers with its own close_notify, whose CIPSEND meets `0, CLOSED`. The module
// answers `+CME ERROR: 3`; Modem.doSend → linkCommandFailed returns early because the link slot
// was already released by onPeerClose, so neither onSent nor destroy runs: _final (queued by
// endReadable's end()) waits for sendInFlight forever. The socket never emits 'finish'/'close',
// the TLSSocket above it never closes, and the 24 bytes are dropped without an error. A websocket
// close over host TLS then takes the full closeTimeoutMs (5 s) instead of milliseconds.
// Fixed: a send that fails after the link slot was released settles the socket (Modem.sendFailed).
it('a ModemSocket whose last send is refused after the peer closed still closes, with ERR_LINK_CLOSED', async () => {
  const { modem, mock } = await openModem({ rxMode: 'push' });
  const s = modem.connect('127.0.0.1', echo.port);
  await once(s, 'connect');
  s.resume();
  const events: string[] = [];
  const errors: Array<Error & { code?: string }> = [];
  for (const ev of ['end', 'finish', 'close']) s.on(ev, () => events.push(ev));
  s.on('error', (e: Error) => errors.push(e));
  // The CIPSEND is on its way when the module reports the link closed; the module refuses it.
  s.write(Buffer.alloc(24, 1));
  mock.closePeer(s.link);
  await until(() => events.includes('close'), 10_000, "the socket's close event");
  expect(mock.commands()).toContain(`AT+CIPSEND=${s.link},24`);
  // The bytes never reached the peer: that must not pass silently.
  expect(errors.map((e) => e.code)).toEqual(['ERR_LINK_CLOSED']);
});
