/**
 * Benchmark records and their three renderings: JSON (one record per measurement), a markdown
 * table, and an SVG chart of achieved payload rate against line rate.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One measurement. Field names are the published format of bench/results.json. */
export interface BenchRecord {
  name: string;
  /**
   * `modem-mock`: our client through the module path; `ws-direct`: the `ws` package's client over
   * loopback TCP; `ws-over-modem`: the `ws` package's client over the same module path as ours;
   * `at-floor`: the bare AT exchange on the mock's pty with no library code (src/bench/floor.ts).
   */
  transport: 'modem-mock' | 'ws-direct' | 'ws-over-modem' | 'at-floor';
  /** Simulated line rate in baud; 0 = unthrottled. */
  baud: number;
  direction: 'up' | 'down' | 'echo';
  rxMode: 'push' | 'pull' | null;
  messageBytes: number | null;
  payloadBytesPerSec: number | null;
  /** payloadBytesPerSec / (baud / 10); null when unthrottled or not a rate. */
  lineFraction: number | null;
  /**
   * payloadBytesPerSec over the stop-and-wait ceiling the AT protocol allows at this baud and
   * module latency (src/bench/ceiling.ts); null where there is none (push download unthrottled,
   * echo, compressed payloads).
   */
  ceilingFraction?: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  cpuMsPerMB: number | null;
  peakRssMB: number | null;
  /**
   * Host CPU time / wall time during the transfer, in percent of one core (throttled throughput
   * records: what the host spends while the serial line is saturated); null elsewhere.
   */
  cpuPercent?: number | null;
  /** Pure wire time of the bytes of one round trip at this baud (echo records). */
  wireMs?: number | null;
  /** Free-form remark (target, workload). */
  note?: string | undefined;
}

/** A record with every optional measurement null. */
export function record(
  base: Pick<BenchRecord, 'name' | 'transport' | 'baud' | 'direction'> & Partial<BenchRecord>,
): BenchRecord {
  return {
    rxMode: null,
    messageBytes: null,
    payloadBytesPerSec: null,
    lineFraction: null,
    ceilingFraction: null,
    p50Ms: null,
    p99Ms: null,
    cpuMsPerMB: null,
    peakRssMB: null,
    cpuPercent: null,
    ...base,
  };
}

/** Line rate in payload bytes per second for 8N1 framing (10 bits a byte). */
export function lineRate(baud: number): number {
  return baud / 10;
}

/** The fraction of the line rate, or null when unthrottled. */
export function fractionOf(bytesPerSec: number, baud: number): number | null {
  return baud > 0 ? bytesPerSec / lineRate(baud) : null;
}

/** Nearest-rank percentile of `values` (p in 0..100); NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

function fmt(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  return value.toFixed(digits);
}

function fmtPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  return value.toFixed(value < 10 ? 2 : 1);
}

function fmtRate(bytesPerSec: number | null): string {
  if (bytesPerSec === null || !Number.isFinite(bytesPerSec)) return '';
  if (bytesPerSec >= 1e6) return `${(bytesPerSec / 1e6).toFixed(2)} MB/s`;
  if (bytesPerSec >= 1e3) return `${(bytesPerSec / 1e3).toFixed(1)} kB/s`;
  return `${bytesPerSec.toFixed(0)} B/s`;
}

function fmtBaud(baud: number): string {
  return baud === 0 ? 'unthrottled' : String(baud);
}

/** The markdown table of all records, with a header line about the run. */
export function toMarkdown(
  records: readonly BenchRecord[],
  meta: { date: string; node: string; quick: boolean; summary?: string[] },
): string {
  const head =
    '| name | transport | baud | dir | rx | msg B | payload rate | line fraction | of ceiling | p50 ms | p99 ms | wire ms | CPU ms/MB | CPU % of a core | peak RSS MB | note |';
  const sep = '|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const rows = records.map(
    (r) =>
      `| ${r.name} | ${r.transport} | ${fmtBaud(r.baud)} | ${r.direction} | ${r.rxMode ?? ''} | ${r.messageBytes ?? ''} | ${fmtRate(r.payloadBytesPerSec)} | ${fmt(r.lineFraction, 3)} | ${fmt(r.ceilingFraction, 3)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.wireMs, 1)} | ${fmt(r.cpuMsPerMB, 0)} | ${fmtPercent(r.cpuPercent)} | ${fmt(r.peakRssMB, 1)} | ${(r.note ?? '').replace(/\|/g, '/')} |`,
  );
  const lines = [
    '# air780 benchmark results',
    '',
    `Run ${meta.date}, Node ${meta.node}${meta.quick ? ', quick run (--quick)' : ''}. Produced by \`npm run bench\` (\`air780 bench\`); the mock runs in a separate process behind a pty.`,
    '',
  ];
  if (meta.summary?.length) lines.push(...meta.summary.map((s) => `- ${s}`), '');
  lines.push(head, sep, ...rows, '');
  return lines.join('\n');
}

/**
 * The summary lines above the table: the targets of issue 6 with met / NOT met, and the figures
 * that say what the CPU target means (the AT floor, the `ws` package over the same module path,
 * the share of a core while the line is saturated). Lines whose records are missing are left out.
 */
export function summaryLines(records: readonly BenchRecord[]): string[] {
  const summary: string[] = [];
  const find = (f: (r: BenchRecord) => boolean) => records.find(f);
  const ours = (baud: number, direction: string, rxMode: string) =>
    find(
      (x) =>
        x.name === 'ws-throughput' &&
        x.transport === 'modem-mock' &&
        x.baud === baud &&
        x.direction === direction &&
        x.rxMode === rxMode,
    );
  for (const [direction, target] of [
    ['up', 0.9],
    ['down', 0.95],
  ] as const) {
    for (const rxMode of ['push', 'pull'] as const) {
      const r = ours(115200, direction, rxMode);
      if (r?.lineFraction != null)
        summary.push(
          `115200 ${direction} (${rxMode}): ${r.lineFraction.toFixed(3)} of line rate (target ≥ ${target}) ${r.lineFraction >= target ? 'met' : 'NOT met'}`,
        );
    }
  }
  summary.push(...ceilingLines(records));
  for (const direction of ['up', 'down'] as const) {
    const base = find((x) => x.transport === 'ws-direct' && x.direction === direction);
    for (const rxMode of ['push', 'pull'] as const) {
      const r = ours(0, direction, rxMode);
      // Sending does not depend on the receive mode: both up runs compare with the one up floor.
      const floor = find(
        (x) =>
          x.name === 'at-floor' &&
          x.baud === 0 &&
          x.direction === direction &&
          (direction === 'up' || x.rxMode === rxMode),
      );
      if (base?.cpuMsPerMB && r?.cpuMsPerMB) {
        const ratio = r.cpuMsPerMB / base.cpuMsPerMB;
        const vsFloor = floor?.cpuMsPerMB
          ? `; bare AT exchange ${floor.cpuMsPerMB.toFixed(0)} ms, so ${(r.cpuMsPerMB / floor.cpuMsPerMB).toFixed(2)}× the floor`
          : '';
        summary.push(
          `CPU per MB ${direction} (${rxMode}): ${r.cpuMsPerMB.toFixed(0)} ms vs ws client ${base.cpuMsPerMB.toFixed(0)} ms = ${ratio.toFixed(2)}× (target ≤ 2×) ${ratio <= 2 ? 'met' : 'NOT met'}${vsFloor}`,
        );
      }
    }
  }
  for (const rxMode of ['push', 'pull'] as const) {
    for (const direction of ['up', 'down'] as const) {
      const r = ours(0, direction, rxMode);
      const same = find(
        (x) => x.transport === 'ws-over-modem' && x.baud === 0 && x.direction === direction && x.rxMode === rxMode,
      );
      if (r?.cpuMsPerMB && same?.cpuMsPerMB) {
        summary.push(
          `websocket layer ${direction} (${rxMode}): ours ${r.cpuMsPerMB.toFixed(0)} ms/MB vs ws package over the same modem path ${same.cpuMsPerMB.toFixed(0)} ms/MB = ${(r.cpuMsPerMB / same.cpuMsPerMB).toFixed(2)}×`,
        );
      }
    }
  }
  for (const baud of [115200, 921600]) {
    for (const rxMode of ['push', 'pull'] as const) {
      const up = ours(baud, 'up', rxMode)?.cpuPercent;
      const down = ours(baud, 'down', rxMode)?.cpuPercent;
      if (up == null || down == null) continue;
      // As for CPU per MB, both receive modes' up runs compare with the one (push) up floor.
      const floor = (direction: string) =>
        find(
          (x) =>
            x.name === 'at-floor' &&
            x.baud === baud &&
            x.direction === direction &&
            (direction === 'up' || x.rxMode === rxMode),
        )?.cpuPercent;
      const fu = floor('up');
      const fd = floor('down');
      const vsFloor =
        fu != null && fd != null ? ` (bare AT exchange: up ${fmtPercent(fu)} %, down ${fmtPercent(fd)} %)` : '';
      summary.push(
        `CPU while saturating ${baud} (${rxMode}): up ${fmtPercent(up)} % of a core, down ${fmtPercent(down)} %${vsFloor}`,
      );
    }
  }
  const plain = find((x) => x.name === 'ws-json-plain' && x.direction === 'down');
  const defl = find((x) => x.name === 'ws-json-deflate' && x.direction === 'down');
  if (
    plain?.payloadBytesPerSec &&
    defl?.payloadBytesPerSec &&
    plain.lineFraction != null &&
    defl.lineFraction != null
  ) {
    summary.push(
      `permessage-deflate on JSON (down, 115200): ${(defl.payloadBytesPerSec / plain.payloadBytesPerSec).toFixed(2)}× the payload rate (${defl.lineFraction.toFixed(2)} of line vs ${plain.lineFraction.toFixed(2)})`,
    );
  }
  const rss = find((x) => x.name === 'peak-rss')?.peakRssMB;
  if (rss != null) summary.push(`peak RSS of the host process: ${rss.toFixed(1)} MB`);
  return summary;
}

/**
 * How close our client comes to what the AT protocol allows (the stop-and-wait ceiling), next to
 * the bare AT exchange on the same mock (src/bench/floor.ts): where the bare exchange gets no closer
 * than we do, what holds the rest back is the mock's line simulation and the pty, not the driver.
 */
export function ceilingLines(records: readonly BenchRecord[]): string[] {
  const lines: string[] = [];
  for (const baud of [115200, 921600, 0]) {
    for (const rxMode of ['push', 'pull'] as const) {
      for (const direction of ['up', 'down'] as const) {
        const r = records.find(
          (x) =>
            x.name === 'ws-throughput' &&
            x.transport === 'modem-mock' &&
            x.baud === baud &&
            x.direction === direction &&
            x.rxMode === rxMode,
        );
        if (r?.ceilingFraction == null || !r.payloadBytesPerSec) continue;
        const ceiling = r.payloadBytesPerSec / r.ceilingFraction;
        const allows = baud > 0 ? `${(ceiling / lineRate(baud)).toFixed(3)} of line` : fmtRate(ceiling);
        const floor = records.find(
          (x) =>
            x.name === 'at-floor' &&
            x.baud === baud &&
            x.direction === direction &&
            (direction === 'up' || x.rxMode === rxMode),
        );
        let tail = '';
        if (floor?.ceilingFraction != null) {
          const gap = floor.ceilingFraction - r.ceilingFraction;
          tail =
            `; bare AT exchange ${floor.ceilingFraction.toFixed(3)} of it` +
            (gap < 0.03
              ? ', so the rest is held back by the mock and the pty, not the driver'
              : `, so the driver costs ${gap.toFixed(3)} of it`);
        }
        lines.push(
          `ceiling ${baud || 'unthrottled'} ${direction} (${rxMode}): the protocol allows ${allows}; ours ${r.ceilingFraction.toFixed(3)} of it${tail}`,
        );
      }
    }
  }
  return lines;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Bar {
  label: string;
  value: number;
  /** A tick drawn across the bar at this height (the protocol's ceiling). */
  mark?: number | null;
  color: string;
  title: string;
}

const PANEL_H = 250;
const BAR_W = 40;
const BAR_STEP = 56;

function kindOf(r: BenchRecord): string {
  const kinds: Record<string, string> = {
    'ws-throughput': 'ws',
    'ws-json-deflate': 'json+deflate',
    'ws-json-plain': 'json',
    'mock-line-rate': 'line',
    'modem-socket-throughput': 'socket',
    'at-floor': 'floor',
  };
  return kinds[r.name] ?? r.name;
}

/** One panel: bars from `min` to `max` on a linear axis, with a dashed reference line. */
function panel(
  title: string,
  bars: readonly Bar[],
  min: number,
  max: number,
  offsetY: number,
  ref?: { at: number; label: string },
): string[] {
  const left = 50;
  const top = offsetY + 38;
  const bottom = offsetY + 170;
  const width = panelWidth(bars.length);
  const y = (v: number) => bottom - ((Math.min(Math.max(v, min), max) - min) / (max - min)) * (bottom - top);
  const out = [
    `<text x="${left}" y="${offsetY + 18}" font-size="13">${esc(title)}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
  ];
  const step = (max - min) / 4;
  for (let i = 0; i <= 4; i++) {
    const tick = min + i * step;
    out.push(
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(max - min < 1 ? 3 : 2)}</text>`,
    );
  }
  if (ref && ref.at >= min && ref.at <= max) {
    out.push(
      `<line x1="${left}" y1="${y(ref.at)}" x2="${width - 10}" y2="${y(ref.at)}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
    out.push(`<text x="${width - 12}" y="${y(ref.at) - 4}" text-anchor="end" fill="#666">${esc(ref.label)}</text>`);
  }
  bars.forEach((b, i) => {
    const x = left + 10 + i * BAR_STEP;
    out.push(
      `<rect x="${x}" y="${y(b.value)}" width="${BAR_W}" height="${bottom - y(b.value)}" fill="${b.color}"><title>${esc(b.title)}</title></rect>`,
    );
    out.push(`<text x="${x + BAR_W / 2}" y="${y(b.value) - 3}" text-anchor="middle">${b.value.toFixed(3)}</text>`);
    if (b.mark != null) {
      out.push(
        `<line x1="${x - 4}" y1="${y(b.mark)}" x2="${x + BAR_W + 4}" y2="${y(b.mark)}" stroke="#c00" stroke-width="2"><title>${esc(`ceiling ${b.mark.toFixed(3)}`)}</title></line>`,
      );
    }
    out.push(`<text transform="translate(${x + 24},${bottom + 8}) rotate(60)" font-size="10">${esc(b.label)}</text>`);
  });
  return out;
}

/** Room for the bars and for the rotated label of the last one. */
function panelWidth(bars: number): number {
  return Math.max(480, 110 + bars * BAR_STEP);
}

/** An axis minimum that keeps the differences visible: a tenth below the lowest value, ≥ 0. */
function axisMin(values: readonly number[]): number {
  return Math.max(0, Math.floor(Math.min(...values) * 10) / 10 - 0.1);
}

const color = (r: BenchRecord) => (r.direction === 'up' ? '#4477aa' : '#66aa55');
const labelOf = (r: BenchRecord) => `${kindOf(r)} ${r.direction}${r.rxMode ? ` ${r.rxMode}` : ''}`;

/**
 * The chart, one panel per line rate: each throughput record as a fraction of the line rate with
 * the protocol's ceiling marked across its bar (red), the axis starting just below the lowest value
 * so that differences of a few hundredths are visible; the unthrottled runs as a fraction of their
 * ceiling; and the compression gain in a panel of its own, on its own scale.
 */
export function toSvg(records: readonly BenchRecord[]): string {
  const parts: string[] = [];
  let offsetY = 0;
  let width = 480;
  const json = (r: BenchRecord) => r.name === 'ws-json-plain' || r.name === 'ws-json-deflate';
  for (const baud of [115200, 921600]) {
    const rs = records.filter((r) => r.baud === baud && r.lineFraction !== null && r.direction !== 'echo' && !json(r));
    if (rs.length === 0) continue;
    const bars = rs.map((r) => {
      const f = r.lineFraction ?? 0;
      const mark = r.ceilingFraction ? f / r.ceilingFraction : null;
      const title = `${r.name}: ${fmtRate(r.payloadBytesPerSec)} = ${f.toFixed(3)} of line${mark ? `, ceiling ${mark.toFixed(3)}` : ''}`;
      return { label: labelOf(r), value: f, mark, color: color(r), title };
    });
    const min = axisMin(bars.flatMap((b) => (b.mark ? [b.value, b.mark] : [b.value])));
    parts.push(
      ...panel(
        `${baud} baud: payload rate as a fraction of line rate (axis from ${min.toFixed(1)}); red: the protocol's ceiling`,
        bars,
        min,
        1.0,
        offsetY,
        { at: 1, label: 'line rate' },
      ),
    );
    width = Math.max(width, panelWidth(bars.length));
    offsetY += PANEL_H;
  }
  const unthrottled = records.filter((r) => r.baud === 0 && r.ceilingFraction != null && r.payloadBytesPerSec !== null);
  if (unthrottled.length > 0) {
    const bars = unthrottled.map((r) => ({
      label: labelOf(r),
      value: r.ceilingFraction ?? 0,
      color: color(r),
      title: `${r.name}: ${fmtRate(r.payloadBytesPerSec)} = ${(r.ceilingFraction ?? 0).toFixed(3)} of the ceiling`,
    }));
    parts.push(
      ...panel(
        'unthrottled: payload rate as a fraction of the ceiling the module latency allows (push down has none)',
        bars,
        0,
        1,
        offsetY,
        { at: 1, label: 'ceiling' },
      ),
    );
    width = Math.max(width, panelWidth(bars.length));
    offsetY += PANEL_H;
  }
  const comp = records.filter((r) => json(r) && r.lineFraction !== null);
  if (comp.length > 0) {
    const bars = comp.map((r) => ({
      label: labelOf(r),
      value: r.lineFraction ?? 0,
      color: color(r),
      title: `${r.name}: ${fmtRate(r.payloadBytesPerSec)}`,
    }));
    const max = Math.ceil(Math.max(1, ...bars.map((b) => b.value)));
    parts.push(
      ...panel(
        'permessage-deflate on JSON telemetry at 115200: payload rate as a fraction of line rate',
        bars,
        0,
        max,
        offsetY,
        { at: 1, label: 'line rate' },
      ),
    );
    offsetY += PANEL_H;
  }
  const height = offsetY + 24;
  parts.push(
    `<rect x="50" y="${height - 18}" width="10" height="10" fill="#4477aa"/><text x="64" y="${height - 9}">up</text>`,
  );
  parts.push(
    `<rect x="100" y="${height - 18}" width="10" height="10" fill="#66aa55"/><text x="114" y="${height - 9}">down</text>`,
  );
  parts.push(
    `<line x1="150" y1="${height - 13}" x2="170" y2="${height - 13}" stroke="#c00" stroke-width="2"/><text x="174" y="${height - 9}">protocol ceiling</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Writes results.json, results.md and results.svg into `dir`. */
export async function writeResults(
  dir: string,
  records: readonly BenchRecord[],
  meta: { date: string; node: string; quick: boolean; summary?: string[] },
): Promise<{ json: string; md: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'results.json'), md: join(dir, 'results.md'), svg: join(dir, 'results.svg') };
  await writeFile(paths.json, `${JSON.stringify(records, null, 2)}\n`);
  await writeFile(paths.md, toMarkdown(records, meta));
  await writeFile(paths.svg, toSvg(records));
  return paths;
}
