/**
 * The module links of one or more modems as one pool with a FIFO queue: a new client connection
 * takes a link on the online module with the most free links, or waits its turn. A module that is
 * not online takes none; when it comes back, waiting clients are served from it again.
 */
import createDebug from 'debug';
import type { Modem } from '../modem/index.js';
import { ServeClosedError, ServeNoModuleError, ServeQueueFullError, ServeQueueTimeoutError } from './errors.js';

const debug = createDebug('air780:serve:pool');

/** Links a module offers (AT+CIPMUX=1). */
export const LINKS_PER_MODULE = 6;

/** A modem the pool hands links of, with the name logs and status lines use. */
export interface PoolModule {
  readonly name: string;
  readonly modem: Modem;
}

/** One link held by a client connection; `release()` gives it back (idempotent). */
export interface LinkLease {
  readonly module: PoolModule;
  release(): void;
}

export interface LinkPoolOptions {
  /** Connections allowed to wait at once; one more is refused at once. Default 64. */
  maxQueue?: number;
  /** Longest wait for a link (ms). Default 30 000. */
  queueTimeoutMs?: number;
  /** Links per module. Default 6. */
  linksPerModule?: number;
}

interface Slot {
  readonly module: PoolModule;
  inUse: number;
  /** Leases granted so far: breaks ties between modules with as many free links. */
  granted: number;
}

interface Waiter {
  grant(lease: LinkLease): void;
  fail(err: Error): void;
}

/** Per-module counts, for status lines and tests. */
export interface PoolStats {
  queued: number;
  modules: Array<{ name: string; state: string; inUse: number }>;
}

export class LinkPool {
  private readonly slots: Slot[];
  private readonly queue: Waiter[] = [];
  private readonly maxQueue: number;
  private readonly queueTimeoutMs: number;
  private readonly links: number;
  private closed = false;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(modules: readonly PoolModule[], options: LinkPoolOptions = {}) {
    this.slots = modules.map((module) => ({ module, inUse: 0, granted: 0 }));
    this.maxQueue = options.maxQueue ?? 64;
    this.queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
    this.links = options.linksPerModule ?? LINKS_PER_MODULE;
    for (const { module } of this.slots) {
      // A module back online has free links for the clients that waited meanwhile.
      const onState = (): void => this.dispatch();
      module.modem.on('state', onState);
      this.unsubscribe.push(() => module.modem.off('state', onState));
    }
  }

  /**
   * A link: at once if an online module has one free (the one with the most, then the one used
   * least), else after the clients queued before this one. Rejects with `ERR_SERVE_NO_MODULE` when
   * no module is online, `ERR_SERVE_QUEUE_FULL` when `maxQueue` wait already,
   * `ERR_SERVE_QUEUE_TIMEOUT` after `queueTimeoutMs`, the signal's reason on abort.
   */
  acquire(signal?: AbortSignal): Promise<LinkLease> {
    if (this.closed) return Promise.reject(new ServeClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.queue.length === 0) {
      const slot = this.pick();
      if (slot) return Promise.resolve(this.lease(slot));
    }
    if (!this.slots.some((s) => s.module.modem.state === 'online')) {
      return Promise.reject(
        new ServeNoModuleError(this.slots.map((s) => `${s.module.name} ${s.module.modem.state}`).join(', ')),
      );
    }
    if (this.queue.length >= this.maxQueue) return Promise.reject(new ServeQueueFullError(this.maxQueue));
    return new Promise<LinkLease>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      };
      const waiter: Waiter = {
        grant: (lease) => {
          done();
          resolve(lease);
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      const onAbort = (): void => waiter.fail(signal!.reason as Error);
      const timer = setTimeout(() => waiter.fail(new ServeQueueTimeoutError(this.queueTimeoutMs)), this.queueTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      debug('queued (%d waiting)', this.queue.length);
    });
  }

  stats(): PoolStats {
    return {
      queued: this.queue.length,
      modules: this.slots.map((s) => ({ name: s.module.name, state: s.module.modem.state, inUse: s.inUse })),
    };
  }

  /** Refuses new acquisitions and fails every waiting one with `ERR_SERVE_CLOSED`. */
  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
    for (const w of [...this.queue]) w.fail(new ServeClosedError());
  }

  private pick(): Slot | undefined {
    let best: Slot | undefined;
    let bestFree = 0;
    for (const s of this.slots) {
      if (s.module.modem.state !== 'online') continue;
      const free = this.links - s.inUse;
      if (free > bestFree || (free === bestFree && free > 0 && best && s.granted < best.granted))
        [best, bestFree] = [s, free];
    }
    return best;
  }

  private lease(slot: Slot): LinkLease {
    slot.inUse++;
    slot.granted++;
    let released = false;
    return {
      module: slot.module,
      release: () => {
        if (released) return;
        released = true;
        slot.inUse--;
        this.dispatch();
      },
    };
  }

  /** Serves waiting clients, oldest first, while a module has a free link. */
  private dispatch(): void {
    while (!this.closed && this.queue.length > 0) {
      const slot = this.pick();
      if (!slot) return;
      this.queue[0]!.grant(this.lease(slot));
    }
  }
}
