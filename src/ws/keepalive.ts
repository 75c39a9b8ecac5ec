import type createDebug from 'debug';
import { DEFAULT_KEEPALIVE_MS } from './constants.js';
import { canWrite, type Connection } from './connection.js';
import { WsPongTimeoutError } from './errors.js';

/**
 * Milliseconds on a monotonic clock, for every duration the ws layer measures. `Date.now()` steps
 * when NTP sets the clock (boards without an RTC do so after boot): a forward step gave a false
 * pong timeout, a backward one hid a dead link for as long as the step.
 */
export function now(): number {
  return performance.now();
}

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
  // While the client holds input back itself (a slow loop, a backed-up transport) or inflates, the
  // silence is ours, not the link's: that counts as traffic.
  const holding = () => c.receiver.holding || c.receiver.busy;
  const tick = () => {
    if (c.done || c.closeSent || !canWrite(c)) return;
    if (holding()) c.lastRx = now();
    const idle = now() - c.lastRx;
    if (idle < every) {
      c.keepTimer = setTimeout(tick, every - idle);
      return;
    }
    const sentAt = now();
    log('keepalive ping after %d ms idle', idle);
    c.sender.ping(Buffer.alloc(0));
    const deadline = opts.pongTimeoutMs ?? every;
    const check = () => {
      if (c.done) return;
      if (holding()) c.lastRx = now();
      if (c.lastRx >= sentAt) {
        c.pongTimer = null;
        c.keepTimer = setTimeout(tick, Math.max(0, every - (now() - c.lastRx)));
        return;
      }
      const left = deadline - (now() - sentAt);
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
