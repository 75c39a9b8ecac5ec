import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fractionOf,
  percentile,
  record,
  summaryLines,
  toMarkdown,
  toSvg,
  writeResults,
} from '../../src/bench/report.js';

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
      record({
        name: 'ws-throughput',
        transport: 'modem-mock',
        baud: 115200,
        direction: 'up',
        rxMode: 'push',
        messageBytes: 16384,
        payloadBytesPerSec: 10944,
        lineFraction: 0.95,
      }),
      record({
        name: 'ws-throughput',
        transport: 'modem-mock',
        baud: 0,
        direction: 'down',
        rxMode: 'pull',
        messageBytes: 16384,
        payloadBytesPerSec: 2.5e6,
      }),
      record({
        name: 'echo-rtt',
        transport: 'modem-mock',
        baud: 115200,
        direction: 'echo',
        messageBytes: 32,
        p50Ms: 12.3,
        p99Ms: 20.1,
        wireMs: 6.6,
      }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'air780-report-'));
    const paths = await writeResults(dir, recs, { date: '2026-01-01', node: 'v20', quick: true });
    const json = JSON.parse(readFileSync(paths.json, 'utf8')) as Record<string, unknown>[];
    expect(json).toHaveLength(3);
    for (const key of [
      'name',
      'transport',
      'baud',
      'direction',
      'rxMode',
      'messageBytes',
      'payloadBytesPerSec',
      'lineFraction',
      'p50Ms',
      'p99Ms',
      'cpuMsPerMB',
      'peakRssMB',
    ]) {
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

  it('writes cpuPercent (null by default) and the ws-over-modem transport, with a column in the table', async () => {
    const recs = [
      record({
        name: 'ws-throughput',
        transport: 'modem-mock',
        baud: 115200,
        direction: 'down',
        rxMode: 'push',
        payloadBytesPerSec: 11300,
        lineFraction: 0.98,
        cpuPercent: 0.437,
      }),
      record({
        name: 'ws-throughput',
        transport: 'ws-over-modem',
        baud: 0,
        direction: 'up',
        rxMode: 'pull',
        payloadBytesPerSec: 4e5,
        cpuMsPerMB: 211.6,
      }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'air780-report-'));
    const paths = await writeResults(dir, recs, { date: 'd', node: 'n', quick: false });
    const json = JSON.parse(readFileSync(paths.json, 'utf8')) as Record<string, unknown>[];
    expect(json.map((r) => r.cpuPercent)).toEqual([0.437, null]);
    expect(json[1]!.transport).toBe('ws-over-modem');
    const lines = readFileSync(paths.md, 'utf8').split('\n');
    const header = lines
      .find((l) => l.startsWith('| name |'))!
      .split('|')
      .map((c) => c.trim());
    const col = header.indexOf('CPU % of a core');
    expect(col).toBeGreaterThan(header.indexOf('CPU ms/MB'));
    const rows = lines.filter((l) => l.startsWith('| ws-throughput')).map((l) => l.split('|').map((c) => c.trim()));
    // Every row has as many cells as the header; the separator line too.
    for (const r of rows) expect(r).toHaveLength(header.length);
    expect(lines.find((l) => l.startsWith('|---'))!.split('|')).toHaveLength(header.length);
    expect(rows[0]![col]).toBe('0.44');
    expect(rows[1]![col]).toBe('');
    expect(rows[1]![header.indexOf('CPU ms/MB')]).toBe('212');
  });

  it('summary lines: same-path websocket ratio and CPU share at line rate, per direction and receive mode', () => {
    const t = (
      transport: 'modem-mock' | 'ws-over-modem' | 'ws-direct',
      baud: number,
      direction: 'up' | 'down',
      rxMode: 'push' | 'pull' | null,
      extra: Partial<Parameters<typeof record>[0]>,
    ) => record({ name: 'ws-throughput', transport, baud, direction, rxMode, ...extra });
    const recs = [
      t('ws-direct', 0, 'up', null, { cpuMsPerMB: 8 }),
      t('ws-direct', 0, 'down', null, { cpuMsPerMB: 2 }),
      t('modem-mock', 0, 'up', 'push', { cpuMsPerMB: 200 }),
      t('modem-mock', 0, 'down', 'push', { cpuMsPerMB: 40 }),
      t('ws-over-modem', 0, 'up', 'push', { cpuMsPerMB: 250 }),
      t('ws-over-modem', 0, 'down', 'push', { cpuMsPerMB: 32 }),
      t('modem-mock', 0, 'up', 'pull', { cpuMsPerMB: 180 }),
      // pull down has no ws-over-modem record: no websocket-layer line for it.
      t('modem-mock', 0, 'down', 'pull', { cpuMsPerMB: 150 }),
      t('modem-mock', 115200, 'up', 'push', { lineFraction: 0.91, cpuPercent: 0.4 }),
      t('modem-mock', 115200, 'down', 'push', { lineFraction: 0.98, cpuPercent: 12.34 }),
      t('modem-mock', 921600, 'up', 'pull', { lineFraction: 0.65, cpuPercent: 3.1 }),
      t('modem-mock', 921600, 'down', 'pull', { lineFraction: 0.72, cpuPercent: 9.87 }),
      // Line-rate floors come first: the per-MB comparison must still pick the unthrottled one.
      record({
        name: 'at-floor',
        transport: 'at-floor',
        baud: 115200,
        direction: 'up',
        rxMode: 'push',
        cpuPercent: 0.61,
      }),
      record({
        name: 'at-floor',
        transport: 'at-floor',
        baud: 115200,
        direction: 'down',
        rxMode: 'push',
        cpuPercent: 9.9,
      }),
      record({ name: 'at-floor', transport: 'at-floor', baud: 0, direction: 'up', rxMode: 'push', cpuMsPerMB: 140 }),
      record({ name: 'peak-rss', transport: 'modem-mock', baud: 0, direction: 'echo', peakRssMB: 80.25 }),
    ];
    const s = summaryLines(recs);
    expect(s).toContain(
      'websocket layer up (push): ours 200 ms/MB vs ws package over the same modem path 250 ms/MB = 0.80×',
    );
    expect(s).toContain(
      'websocket layer down (push): ours 40 ms/MB vs ws package over the same modem path 32 ms/MB = 1.25×',
    );
    expect(s.filter((l) => l.startsWith('websocket layer'))).toHaveLength(2);
    expect(s).toContain(
      'CPU while saturating 115200 (push): up 0.40 % of a core, down 12.3 % (bare AT exchange: up 0.61 %, down 9.90 %)',
    );
    expect(s).toContain('CPU while saturating 921600 (pull): up 3.10 % of a core, down 9.87 %');
    expect(s.filter((l) => l.startsWith('CPU while saturating'))).toHaveLength(2);
    // The unreachable target keeps its honest line.
    expect(s).toContain(
      'CPU per MB up (push): 200 ms vs ws client 8 ms = 25.00× (target ≤ 2×) NOT met; bare AT exchange 140 ms, so 1.43× the floor',
    );
    expect(s).toContain('115200 up (push): 0.910 of line rate (target ≥ 0.9) met');
    expect(s).toContain('peak RSS of the host process: 80.3 MB');
  });
});
