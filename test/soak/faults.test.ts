import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { FAULT_KINDS, FaultPlan, inject } from '../../src/soak/faults.js';
import { Rng } from '../../src/soak/rng.js';

describe('fault plan', () => {
  it('is reproduced exactly from its seed, and differs for another seed', () => {
    const take = (seed: number) => {
      const p = new FaultPlan(seed);
      return Array.from({ length: 30 }, () => p.next());
    };
    expect(take(5)).toEqual(take(5));
    expect(take(5)).not.toEqual(take(6));
  });

  it('injects every fault kind once in each round of eight', () => {
    const p = new FaultPlan(99);
    const kinds = Array.from({ length: 40 }, () => p.next()).flatMap((s) => s.burst.map((f) => f.kind));
    for (let i = 0; i + 8 <= kinds.length; i += 8) expect(new Set(kinds.slice(i, i + 8))).toEqual(new Set(FAULT_KINDS));
  });

  it('keeps parameters within the configured ranges', () => {
    const p = new FaultPlan(3, {
      minGapMs: 10,
      maxGapMs: 20,
      burstChance: 1,
      maxStallMs: 900,
      maxUnplugMs: 800,
      maxRebootDelayMs: 700,
    });
    for (let i = 0; i < 50; i++) {
      const s = p.next();
      expect(s.gapMs).toBeGreaterThanOrEqual(10);
      expect(s.gapMs).toBeLessThanOrEqual(20);
      expect(s.burst).toHaveLength(2);
      for (const f of s.burst) {
        if (f.kind === 'stall') expect(f.ms).toBeLessThanOrEqual(900);
        if (f.kind === 'unplug') expect(f.ms).toBeLessThanOrEqual(800);
        if (f.kind === 'reboot' || f.kind === 'cut-reboot') expect(f.ms).toBeLessThanOrEqual(700);
        if (f.kind === 'noise') expect(f.noise).toHaveLength(f.ms!);
      }
    }
  });

  it('applies faults to a mock and names them as fault lines', async () => {
    const mock = new MockModem();
    try {
      expect(inject(mock, { kind: 'close', pick: 0.5, offsetMs: 0 })).toBe('close (no open link)');
      expect(inject(mock, { kind: 'noise', ms: 3, noise: Buffer.from('x\r\n'), offsetMs: 0 })).toBe('noise 3');
      expect(mock.sentText()).toContain('x\r\n');
      expect(inject(mock, { kind: 'unplug', ms: 60_000, offsetMs: 0 })).toBe('unplug 60000');
      expect(mock.plugged).toBe(false);
      expect(inject(mock, { kind: 'unplug', ms: 10, offsetMs: 0 })).toBe('unplug (already unplugged)');
    } finally {
      await mock.close();
    }
  });
});

describe('Rng', () => {
  it('is deterministic per (seed, stream) and roughly uniform', () => {
    expect(new Rng(1, 2).bytes(64)).toEqual(new Rng(1, 2).bytes(64));
    expect(new Rng(1, 2).bytes(64)).not.toEqual(new Rng(1, 3).bytes(64));
    const r = new Rng(8);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) buckets[Math.floor(r.next() * 10)]++;
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(250);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 5);
      expect(v >= 3 && v <= 5).toBe(true);
    }
    expect(new Rng(4).bytes(7)).toHaveLength(7);
  });
});
