/**
 * Waiting without wall-clock time: every duration here is measured with `performance.now()`, a
 * monotonic clock. `Date.now()` jumps when a board without an RTC syncs NTP: forward, it ends a
 * wait at once; backward, it stretches a wait by the size of the step.
 */
import { AbortedError } from './errors.js';

/** The error a wait ends with when `signal` aborts: its reason when that is an Error. */
export function abortError(signal: AbortSignal, what: string): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortedError(what, signal.reason);
}

/**
 * Resolves after `ms`, or rejects at once when `signal` aborts (the timer is cleared, so an
 * aborted wait never keeps the process alive).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, 'a wait'));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError(signal!, 'a wait'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** How {@link pollUntil} repeats its probe. */
export interface PollOptions {
  /** Start the next probe this long after the previous one started (not after it ended). */
  everyMs: number;
  /** Give up once this long has passed since the first probe started (monotonic). */
  withinMs?: number;
  /** Give up after this many probes. */
  attempts?: number;
  signal?: AbortSignal;
}

/** What a probe says: finished with this value, or not yet. */
export type PollResult<T> = { done: true; value: T } | { done: false };

/**
 * Runs `probe` (with its 1-based attempt number) until it reports done, at most `attempts` times
 * and, once `withinMs` has passed, no more. A probe's rejection ends the poll with that error.
 * Resolves `{ done: false }` when the bounds are used up: the caller words the failure.
 */
export async function pollUntil<T>(
  probe: (attempt: number) => Promise<PollResult<T>>,
  options: PollOptions,
): Promise<PollResult<T>> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    const t = performance.now();
    const r = await probe(attempt);
    if (r.done) return r;
    const now = performance.now();
    if (options.attempts !== undefined && attempt >= options.attempts) return r;
    if (options.withinMs !== undefined && now - started >= options.withinMs) return r;
    const pause = Math.max(0, t + options.everyMs - now);
    if (pause > 0 || options.signal?.aborted) await sleep(pause, options.signal);
  }
}
