/**
 * Over the module path (Modem + MockModem): when the server's close frame and FIN land right behind
 * its last messages, the client still decodes everything it received — pending inflates included —
 * and reports the server's close code, clean (RFC 6455 §7.1.4/§7.1.5).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openerConnect, WebSocketClient } from '../../src/ws/index.js';
import { burst, digest, echoLinesThenClose, openCollecting, startBurstPeers, type BurstPeers } from '../ws/burst.js';
import type { RawServer } from '../ws/raw-server.js';
import { expectThroughModule, openModem, type WsPeer } from './helpers.js';

let peers: BurstPeers;
let rawDeflate: RawServer;
let rawPlain: RawServer;
let wsEcho: WsPeer;
beforeAll(async () => {
  peers = await startBurstPeers();
  ({ rawDeflate, rawPlain, wsEcho } = peers);
});
afterAll(() => peers.close());

describe('close frame + FIN right behind the last messages, through the mock module', () => {
  for (const rxMode of ['push', 'pull'] as const) {
    for (const deflate of [true, false]) {
      it(`${rxMode} mode, ${deflate ? 'permessage-deflate' : 'no deflate'}: all messages in one write, then close + FIN`, async () => {
        const { mock, modem } = await openModem({ rxMode });
        const server = deflate ? rawDeflate : rawPlain;
        for (const initiator of ['server', 'client'] as const) {
          const { client, conn, got, errors, closed } = await openCollecting(server, {
            connect: openerConnect(modem),
            perMessageDeflate: deflate,
            keepaliveMs: 0,
            handshakeTimeoutMs: 15_000,
            closeTimeoutMs: 15_000,
          });
          if (initiator === 'client') {
            client.close(1000, 'eof');
            expect(await conn.closeFrame()).toEqual({ code: 1000, reason: 'eof' });
          }
          // No pings: a pong sent while the module already closed the link is refused by the module,
          // and the modem layer then destroys the socket with the unread bytes (src/modem, not src/ws).
          const b = burst(30, { compress: deflate, seed: deflate ? 21 : 22, close: [1000, 'done'], pings: false });
          conn.socket.end(b.bytes);
          expect(await closed, `${initiator} initiated, ${got.length} messages`).toEqual({
            code: 1000,
            reason: 'done',
            wasClean: true,
          });
          expect(digest(got)).toEqual(digest(b.messages));
          expect(errors).toEqual([]);
        }
        expectThroughModule(mock, server.port, rxMode);
      });
    }
  }

  it('200 lines to a deflate echo server, then close(): all 200 echoes in order, 1000 clean (5 runs)', async () => {
    const { mock, modem } = await openModem({ rxMode: 'push' });
    for (let run = 0; run < 5; run++) {
      const client = new WebSocketClient(`ws://127.0.0.1:${wsEcho.port}/`, {
        connect: openerConnect(modem),
        keepaliveMs: 0,
        handshakeTimeoutMs: 15_000,
        closeTimeoutMs: 15_000,
      });
      await echoLinesThenClose(client, 200, `run ${run}`);
    }
    expectThroughModule(mock, wsEcho.port, 'push');
  });
});
