import type createDebug from 'debug';
import { DEFAULT_KEEPALIVE_MS } from './constants.js';
import { canWrite, type Connection } from './connection.js';
import { WsPongTimeoutError } from './errors.js';

/**
 * Pings after `keepaliveMs` without incoming traffic and calls `onTimeout` when nothing at all
 * arrives within `pongTimeoutMs` of the ping. Any incoming bytes count as the answer, not only a
 * pong: they show the link is alive, and a pong may queue behind a large message on a slow link.
 * The options object is read when a ping goes out, so later changes apply to the next ping.
 */
export function startKeepalive(
  c: Connection,
  opts: { keepaliveMs?: number | undefined; pongTimeoutMs?: number | undefined },
  log: createDebug.Debugger,
  onTimeout: (err: WsPongTimeoutError) => void,
): void {
  const every = opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  if (!(every > 0)) return;
  const tick = () => {
    if (c.done || c.closeSent || !canWrite(c)) return;
    const idle = Date.now() - c.lastRx;
    if (idle < every) {
      c.keepTimer = setTimeout(tick, every - idle);
      return;
    }
    const sentAt = Date.now();
    log('keepalive ping after %d ms idle', idle);
    c.sender.ping(Buffer.alloc(0));
    const deadline = opts.pongTimeoutMs ?? every;
    const check = () => {
      if (c.done) return;
      if (c.lastRx >= sentAt) {
        c.pongTimer = null;
        c.keepTimer = setTimeout(tick, Math.max(0, every - (Date.now() - c.lastRx)));
        return;
      }
      const left = deadline - (Date.now() - sentAt);
      if (left > 0) {
        c.pongTimer = setTimeout(check, left);
        return;
      }
      onTimeout(new WsPongTimeoutError(deadline));
    };
    // Checked early and then again at the deadline, so a prompt answer re-arms the idle timer at once.
    c.pongTimer = setTimeout(check, Math.min(deadline, 50));
  };
  c.keepTimer = setTimeout(tick, every);
}
