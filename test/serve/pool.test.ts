import { describe, expect, it } from 'vitest';
import { LinkPool, type LinkLease } from '../../src/serve/index.js';
import { openModem, until } from '../integration/helpers.js';

/** `slowBoot`: registration takes 2 s after a boot, so a rebooted module stays recovering that long. */
async function modules(n: number, slowBoot = false) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const m = await openModem(slowBoot ? { mock: { registrationDelayMs: 2000 } } : {});
    out.push({ name: `m${i}`, modem: m.modem, mock: m.mock });
  }
  return out;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('LinkPool', () => {
  it('spreads links over the modules with the most free ones, then queues FIFO and serves in order', async () => {
    const mods = await modules(2);
    const pool = new LinkPool(mods, { queueTimeoutMs: 10_000 });
    const held: LinkLease[] = [];
    for (let i = 0; i < 6; i++) held.push(await pool.acquire());
    // Most free links first: the two modules alternate.
    expect(held.map((l) => l.module.name).sort()).toEqual(['m0', 'm0', 'm0', 'm1', 'm1', 'm1']);
    for (let i = 0; i < 6; i++) held.push(await pool.acquire());
    expect(pool.stats().modules.map((m) => m.inUse)).toEqual([6, 6]);
    const order: number[] = [];
    const waiting = [0, 1, 2].map((i) =>
      pool.acquire().then((l) => {
        order.push(i);
        return l;
      }),
    );
    expect(pool.stats().queued).toBe(3);
    held[4]!.release(); // an m? link: the first waiter gets it
    held[4]!.release(); // idempotent: no second grant
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([0]);
    held[0]!.release();
    held[1]!.release();
    const leases = await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2]);
    expect(pool.stats().queued).toBe(0);
    for (const l of [...held, ...leases]) l.release();
    expect(pool.stats().modules.map((m) => m.inUse)).toEqual([0, 0]);
    pool.close();
  });

  it('refuses at once beyond maxQueue, times out a wait, and an abort leaves the queue', async () => {
    const mods = await modules(1);
    const pool = new LinkPool(mods, { maxQueue: 2, queueTimeoutMs: 1000 });
    for (let i = 0; i < 6; i++) await pool.acquire();
    let aSettled = false;
    const a = pool.acquire().finally(() => (aSettled = true));
    const ctl = new AbortController();
    const b = pool.acquire(ctl.signal);
    // Refused at once: before the waiting ones time out.
    expect(await codeOf(pool.acquire())).toBe('ERR_SERVE_QUEUE_FULL');
    expect(aSettled).toBe(false);
    ctl.abort(Object.assign(new Error('client left'), { code: 'X_GONE' }));
    expect(await codeOf(b)).toBe('X_GONE');
    expect(pool.stats().queued).toBe(1);
    expect(await codeOf(a)).toBe('ERR_SERVE_QUEUE_TIMEOUT');
    expect(pool.stats().queued).toBe(0);
    pool.close();
    expect(await codeOf(pool.acquire())).toBe('ERR_SERVE_CLOSED');
  });

  it('a recovering module takes none; the others carry on; back online, it serves the waiting clients', async () => {
    const mods = await modules(2, true);
    const pool = new LinkPool(mods, { queueTimeoutMs: 20_000 });
    const first = await pool.acquire();
    expect(first.module.name).toBe('m0');
    mods[1]!.mock.reboot({ delayMs: 50 });
    await until(() => mods[1]!.modem.state !== 'online', 10_000, 'm1 recovering');
    const during: LinkLease[] = [];
    for (let i = 0; i < 5; i++) during.push(await pool.acquire());
    expect(during.every((l) => l.module.name === 'm0')).toBe(true);
    // m0 full, m1 recovering: the next one waits for m1.
    const waiter = pool.acquire();
    await until(() => mods[1]!.modem.state === 'online', 20_000, 'm1 back online');
    expect((await waiter).module.name).toBe('m1');
    pool.close();
  });

  it('with no module online, a new connection is refused at once (ERR_SERVE_NO_MODULE)', async () => {
    const mods = await modules(1, true);
    const pool = new LinkPool(mods);
    mods[0]!.mock.reboot({ delayMs: 50 });
    await until(() => mods[0]!.modem.state !== 'online', 10_000, 'recovering');
    expect(await codeOf(pool.acquire())).toBe('ERR_SERVE_NO_MODULE');
    pool.close();
  });
});
