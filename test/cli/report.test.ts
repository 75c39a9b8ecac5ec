import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fractionOf, percentile, record, toMarkdown, toSvg, writeResults } from '../../src/bench/report.js';

describe('bench report', () => {
  it('percentile is nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('line fraction uses baud/10 and is null unthrottled', () => {
    expect(fractionOf(11520, 115200)).toBe(1);
    expect(fractionOf(5000, 0)).toBeNull();
  });

  it('writes json with every published field, a table row per record and an svg bar per throttled rate', async () => {
    const recs = [
      record({ name: 'ws-throughput', transport: 'modem-mock', baud: 115200, direction: 'up', rxMode: 'push', messageBytes: 16384, payloadBytesPerSec: 10944, lineFraction: 0.95 }),
      record({ name: 'ws-throughput', transport: 'modem-mock', baud: 0, direction: 'down', rxMode: 'pull', messageBytes: 16384, payloadBytesPerSec: 2.5e6 }),
      record({ name: 'echo-rtt', transport: 'modem-mock', baud: 115200, direction: 'echo', messageBytes: 32, p50Ms: 12.3, p99Ms: 20.1, wireMs: 6.6 }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'air780-report-'));
    const paths = await writeResults(dir, recs, { date: '2026-01-01', node: 'v20', quick: true });
    const json = JSON.parse(readFileSync(paths.json, 'utf8')) as Record<string, unknown>[];
    expect(json).toHaveLength(3);
    for (const key of ['name', 'transport', 'baud', 'direction', 'rxMode', 'messageBytes', 'payloadBytesPerSec', 'lineFraction', 'p50Ms', 'p99Ms', 'cpuMsPerMB', 'peakRssMB']) {
      for (const r of json) expect(r).toHaveProperty(key);
    }
    const md = readFileSync(paths.md, 'utf8');
    expect(md.split('\n').filter((l) => l.startsWith('| ws-throughput') || l.startsWith('| echo-rtt'))).toHaveLength(3);
    expect(md).toContain('| 0.950 |');
    expect(md).toContain('unthrottled');
    const svg = toSvg(recs);
    expect(svg.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="40"/g)).toHaveLength(1);
    expect(svg).toContain('0.95');
    expect(toMarkdown([], { date: 'd', node: 'n', quick: false })).toContain('| name |');
  });
});
