/**
 * The CI soak: 20 s of seeded faults (every kind the mock injects) under traffic from the LuatOS
 * clients, the core client and a raw module socket. Every grade must pass; a failure prints the
 * whole report, with the seed and the command that replays it.
 */
import { expect, it } from 'vitest';
import { formatReport } from '../../src/soak/report.js';
import { runSoak } from '../../src/soak/run.js';

const SEED = 20240723;

it('20 s soak with fixed seed: nothing lost, nothing hung, memory bounded', async () => {
  const report = await runSoak({
    seed: SEED,
    durationMs: 20_000,
    // Short gaps and faults so that one round of all eight kinds fits in 20 s (`npm run soak -- --ci`).
    preset: 'ci',
  });
  const text = formatReport(report);
  for (const g of report.grades) expect(g.pass, `${g.name}: ${g.detail}\n\n${text}`).toBe(true);
  expect(report.pass).toBe(true);
  // The soak really soaked: faults of most kinds, and every client was knocked down and came back.
  const kinds = new Set(report.faults.flatMap((f) => f.specs.map((s) => s.split(' ')[0])));
  expect(kinds.size, text).toBeGreaterThanOrEqual(5);
  for (const c of report.clients) {
    expect(c.outages, `${c.name}\n${text}`).toBeGreaterThan(0);
    expect(c.connects, `${c.name}\n${text}`).toBeGreaterThan(c.outages);
  }
}, 120_000);
