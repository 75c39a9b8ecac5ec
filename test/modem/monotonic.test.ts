/**
 * Bring-up deadlines are measured on a monotonic clock: a board without an RTC steps its wall
 * clock when NTP syncs, and that step must neither end a wait early nor stretch it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions, type ProgressEvent } from '../../src/modem/index.js';

const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  commandTimeoutMs: 3000,
  simTimeoutMs: 2000,
  registrationTimeoutMs: 5000,
  attachTimeoutMs: 5000,
};
const HOUR = 3_600_000;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

/** `Date.now()` steps by `jumpMs` when bring-up reaches `step`, as an NTP sync would. */
function stepClockAt(step: ProgressEvent['step'], jumpMs: number): (p: ProgressEvent) => void {
  const realNow = Date.now.bind(Date);
  let offset = 0;
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  return (p) => {
    if (p.step === step) offset = jumpMs;
  };
}

async function open(mockOpts: MockModemOptions, opts: ModemOpenOptions): Promise<Modem> {
  const mock = new MockModem(mockOpts);
  cleanup.push(() => mock.close());
  const modem = await Modem.open({ stream: mock.hostStream(), ...FAST, ...opts });
  cleanup.push(() => modem.close());
  return modem;
}

/** Rejects when `p` has not settled within `ms` (a deadline that never comes). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)),
  ]);
}

describe('bring-up deadlines on a monotonic clock', () => {
  it('a forward step of the wall clock (+1 h) during registration does not end the wait early', async () => {
    const onProgress = stepClockAt('register', HOUR);
    const modem = await open({ registrationDelayMs: 400 }, { registrationTimeoutMs: 5000, onProgress });
    expect(modem.state).toBe('online');
    expect(Date.now() - performance.timeOrigin).toBeGreaterThan(HOUR / 2);
  });

  it('a backward step of the wall clock (-1 h) during registration does not stretch the wait', async () => {
    const onProgress = stepClockAt('register', -HOUR);
    await expect(
      within(open({ registrationDelayMs: 1e12 }, { registrationTimeoutMs: 600, onProgress }), 10_000),
    ).rejects.toMatchObject({ code: 'ERR_NOT_REGISTERED' });
    expect(Date.now() - performance.timeOrigin).toBeLessThan(-HOUR / 2);
  });
});
