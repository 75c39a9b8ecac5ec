/**
 * The leak bench's machinery (the numbers themselves are a bench: bench/leaks.md). A small run
 * moves real messages and cycles through the mock and reports every phase.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { expect, it } from 'vitest';
import { formatLeakReport, measureLeaks } from '../../src/soak/leaks.js';

it('refuses to run without a forced GC, with advice', async () => {
  const g = globalThis as { gc?: () => void };
  const saved = g.gc;
  delete g.gc;
  try {
    await expect(measureLeaks({ messages: 10, cycles: 3, rounds: 1 })).rejects.toMatchObject({
      code: 'ERR_SOAK_OPTION',
      message: expect.stringContaining('--expose-gc'),
    });
  } finally {
    if (saved) g.gc = saved;
  }
});

it('echoes every message intact and completes every cycle kind (core, LuatOS, raw socket)', async () => {
  const g = globalThis as { gc?: () => void };
  if (!g.gc) {
    // The worker was not started with --expose-gc: turn the flag on and fetch gc from a fresh context.
    setFlagsFromString('--expose-gc');
    g.gc = runInNewContext('gc') as () => void;
  }
  const r = await measureLeaks({ messages: 2000, cycles: 9, rounds: 1, settleMs: 0 });
  expect(r.mismatches).toBe(0);
  expect(r.cycleFailures).toBe(0);
  expect(r.phases.map((p) => p.name)).toEqual(['2000 messages (round 1)', '9 cycles (round 1)']);
  for (const p of r.phases) expect(p.after.rss).toBeGreaterThan(0);
  expect(formatLeakReport(r)).toMatch(/total +heap/);
}, 60_000);
