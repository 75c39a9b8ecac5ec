import type { Modem } from '../modem/index.js';
import { ModemAbortError } from '../modem/index.js';
import { createConnection, type ModemConnection, type ModemConnectionOptions } from './connection.js';
import { LinkQueueFullError, LinkWaitTimeoutError } from './errors.js';

/** How long a connection may wait for a free link, and how many may wait at once. */
export interface LinkWaitOptions {
  /** Longest wait for one of the 6 links to become free. Default 30 000 ms; 0 fails at once. */
  linkWaitMs?: number;
  /** Connections of this modem allowed to wait for a link at the same time. Default 64. */
  maxQueued?: number;
  /** Gives up the wait (and a connect under way). */
  signal?: AbortSignal;
}

/** Connections waiting for a link, per modem (the bound of `maxQueued` is module-wide). */
const waiting = new WeakMap<Modem, number>();

/** Resolves on the stream's connect (`secureConnect` for host TLS), rejects with its error. */
export function connected(socket: ModemConnection, secure: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ok = () => {
      socket.off('error', fail);
      resolve();
    };
    const fail = (e: Error) => {
      socket.off(secure ? 'secureConnect' : 'connect', ok);
      reject(e);
    };
    socket.once(secure ? 'secureConnect' : 'connect', ok);
    socket.once('error', fail);
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason instanceof Error ? signal!.reason : new ModemAbortError('The wait for a module link'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A connected stream through the module, for pools (http agents, undici): when all 6 links are
 * taken (`ERR_NO_FREE_LINK`, decided before any AT command) it tries again, backing off from 25 to
 * 250 ms, for up to `linkWaitMs`, then fails with `ERR_LINK_WAIT_TIMEOUT`. Polling rather than
 * a notification: links are freed by sockets of every user of the modem, and retrying costs no
 * AT traffic. Any other error fails at once.
 */
export async function connectWhenFree(
  modem: Modem,
  options: ModemConnectionOptions,
  wait: LinkWaitOptions = {},
): Promise<ModemConnection> {
  const linkWaitMs = wait.linkWaitMs ?? 30_000;
  const maxQueued = wait.maxQueued ?? 64;
  const secure = options.tls === true || options.tls === 'host';
  const start = Date.now();
  let queued = false;
  let delay = 25;
  try {
    for (;;) {
      const socket = createConnection(modem, { ...options, ...(wait.signal ? { signal: wait.signal } : {}) });
      try {
        await connected(socket, secure);
        return socket;
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.code !== 'ERR_NO_FREE_LINK') throw err;
        const waited = Date.now() - start;
        if (waited >= linkWaitMs) throw new LinkWaitTimeoutError(waited, { cause: e });
        if (!queued) {
          const n = waiting.get(modem) ?? 0;
          if (n >= maxQueued) throw new LinkQueueFullError(maxQueued);
          waiting.set(modem, n + 1);
          queued = true;
        }
        await sleep(Math.min(delay, linkWaitMs - waited), wait.signal);
        delay = Math.min(250, delay * 2);
      }
    }
  } finally {
    if (queued) waiting.set(modem, (waiting.get(modem) ?? 1) - 1);
  }
}
