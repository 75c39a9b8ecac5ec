import { describe, expect, it } from 'vitest';
import { MEASUREMENTS } from '../../src/bench/run.js';
import { benchServe } from '../../src/serve/bench.js';
import { openModem } from '../integration/helpers.js';

describe('benchServe', () => {
  it('measures raw, SOCKS, HTTP both ways and six parallel downloads, checking every byte', async () => {
    const { modem } = await openModem({ rxMode: 'pull', mock: { baudRate: 921600 } });
    const results = await benchServe(modem, { baud: 921600, bytes: 32 * 1024, parallelBytes: 16 * 1024 });
    expect(results.map((r) => `${r.path} ${r.direction}`)).toEqual([
      'raw down',
      'raw up',
      'socks down',
      'socks up',
      'http down',
      'http up',
      'socks-x6 down',
    ]);
    for (const r of results) {
      expect(r.bytesPerSec).toBeGreaterThan(0);
      // The simulated line bounds every rate (a little slack for timer granularity).
      expect(r.ofLine).toBeLessThan(1.05);
      if (r.path === 'socks' || r.path === 'http') expect(r.ofRaw).toBeGreaterThan(0);
    }
    expect(results.at(-1)!.bytes).toBe(6 * 16 * 1024);
    expect(MEASUREMENTS).toContain('serve');
  }, 120_000);
});
