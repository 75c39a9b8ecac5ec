/**
 * `modem.stats()` and `modem.observer()`: the observer as `Modem` methods, attached here when the
 * observe layer loads (the package root loads it), so the modem layer imports nothing from above
 * it, as src/adapters/methods.ts does for the adapters. The observer is made on the first call, so
 * a program that never asks pays nothing (and its counts start at that call).
 */
import { Modem } from '../modem/index.js';
import { ModemObserver, type ModemStats, type ObserveModemOptions } from './modem-stats.js';

declare module '../modem/modem.js' {
  interface Modem {
    /** The statistics snapshot of {@link ModemObserver.stats}, from this modem's shared observer. */
    stats(options?: { unmasked?: boolean }): ModemStats;
    /**
     * This modem's shared {@link ModemObserver}, made on the first call (with `options`; later calls
     * get the same observer whatever they pass). Listen to its 'stats' event for updates.
     */
    observer(options?: ObserveModemOptions): ModemObserver;
  }
}

const observers = new WeakMap<Modem, ModemObserver>();

const methods = {
  observer(this: Modem, options?: ObserveModemOptions): ModemObserver {
    let o = observers.get(this);
    if (!o) {
      o = new ModemObserver(this, options);
      observers.set(this, o);
    }
    return o;
  },
  stats(this: Modem, options?: { unmasked?: boolean }): ModemStats {
    return methods.observer.call(this).stats(options);
  },
};

for (const [name, fn] of Object.entries(methods)) {
  if (!Object.hasOwn(Modem.prototype, name))
    Object.defineProperty(Modem.prototype, name, { value: fn, writable: true, configurable: true });
}
