/** How the client reconnects after an unintended close. */
export interface ReconnectOptions {
  /** 'fixed' (LuatOS: the same interval forever) or 'exponential' back-off with jitter. Default 'fixed'. */
  strategy?: 'fixed' | 'exponential';
  /** Fixed interval in ms. Default 3000, minimum 1000 (as the LuatOS firmware). */
  intervalMs?: number;
  /** Exponential: first delay in ms (default 1000). */
  initialDelayMs?: number;
  /** Exponential: largest delay in ms (default 60000). */
  maxDelayMs?: number;
  /** Exponential: growth factor (default 2). */
  factor?: number;
  /** Exponential: fraction of the delay randomised away, 0..1 (default 0.5: "equal jitter"). */
  jitter?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxRetries?: number;
}

export const DEFAULT_RECONNECT_MS = 3000;
export const MIN_RECONNECT_MS = 1000;

/**
 * Delay before reconnect attempt number `attempt` (1 = first retry), or null when the retry
 * limit is reached.
 */
export function reconnectDelay(
  policy: ReconnectOptions,
  attempt: number,
  random: () => number = Math.random,
): number | null {
  if (policy.maxRetries !== undefined && attempt > policy.maxRetries) return null;
  if ((policy.strategy ?? 'fixed') === 'fixed') {
    return Math.max(MIN_RECONNECT_MS, policy.intervalMs ?? DEFAULT_RECONNECT_MS);
  }
  const initial = Math.max(0, policy.initialDelayMs ?? 1000);
  const max = Math.max(initial, policy.maxDelayMs ?? 60_000);
  const factor = Math.max(1, policy.factor ?? 2);
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  const base = Math.min(max, initial * factor ** (attempt - 1));
  return Math.round(base * (1 - jitter * random()));
}

/**
 * The reconnect timer and retry count of one client. The count starts again after every
 * successful open, so `maxRetries` limits consecutive failures, not reconnects over a lifetime.
 */
export class ReconnectSchedule {
  private timer: NodeJS.Timeout | null = null;
  private retries = 0;

  /** The number of the retry last counted by {@link nextDelay} (1 = first). */
  get attempt(): number {
    return this.retries;
  }

  /** True while a reconnect is scheduled. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** A connection opened. */
  reset(): void {
    this.retries = 0;
  }

  /** Counts one more retry and returns its delay, or null when the policy is off or exhausted. */
  nextDelay(policy: boolean | ReconnectOptions | undefined): number | null {
    if (!policy) return null;
    this.retries++;
    return reconnectDelay(policy === true ? {} : policy, this.retries);
  }

  /** Runs `fn` after `delayMs` unless cancelled first. */
  schedule(delayMs: number, fn: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, delayMs);
  }

  /** Drops a pending reconnect, if any. */
  cancel(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
