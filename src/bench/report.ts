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
  note?: string;
}

/** A record with every optional measurement null. */
export function record(base: Pick<BenchRecord, 'name' | 'transport' | 'baud' | 'direction'> & Partial<BenchRecord>): BenchRecord {
  return {
    rxMode: null,
    messageBytes: null,
    payloadBytesPerSec: null,
    lineFraction: null,
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
export function toMarkdown(records: readonly BenchRecord[], meta: { date: string; node: string; quick: boolean; summary?: string[] }): string {
  const head = '| name | transport | baud | dir | rx | msg B | payload rate | line fraction | p50 ms | p99 ms | wire ms | CPU ms/MB | CPU % of a core | peak RSS MB | note |';
  const sep = '|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const rows = records.map((r) =>
    `| ${r.name} | ${r.transport} | ${fmtBaud(r.baud)} | ${r.direction} | ${r.rxMode ?? ''} | ${r.messageBytes ?? ''} | ${fmtRate(r.payloadBytesPerSec)} | ${fmt(r.lineFraction, 3)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.wireMs, 1)} | ${fmt(r.cpuMsPerMB, 0)} | ${fmtPercent(r.cpuPercent)} | ${fmt(r.peakRssMB, 1)} | ${(r.note ?? '').replace(/\|/g, '/')} |`,
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
    find((x) => x.name === 'ws-throughput' && x.transport === 'modem-mock' && x.baud === baud && x.direction === direction && x.rxMode === rxMode);
  for (const [direction, target] of [['up', 0.9], ['down', 0.95]] as const) {
    for (const rxMode of ['push', 'pull'] as const) {
      const r = ours(115200, direction, rxMode);
      if (r?.lineFraction != null) summary.push(`115200 ${direction} (${rxMode}): ${r.lineFraction.toFixed(3)} of line rate (target ≥ ${target}) ${r.lineFraction >= target ? 'met' : 'NOT met'}`);
    }
  }
  for (const direction of ['up', 'down'] as const) {
    const base = find((x) => x.transport === 'ws-direct' && x.direction === direction);
    for (const rxMode of ['push', 'pull'] as const) {
      const r = ours(0, direction, rxMode);
      // Sending does not depend on the receive mode: both up runs compare with the one up floor.
      const floor = find((x) => x.name === 'at-floor' && x.baud === 0 && x.direction === direction && (direction === 'up' || x.rxMode === rxMode));
      if (base?.cpuMsPerMB && r?.cpuMsPerMB) {
        const ratio = r.cpuMsPerMB / base.cpuMsPerMB;
        const vsFloor = floor?.cpuMsPerMB ? `; bare AT exchange ${floor.cpuMsPerMB.toFixed(0)} ms, so ${(r.cpuMsPerMB / floor.cpuMsPerMB).toFixed(2)}× the floor` : '';
        summary.push(`CPU per MB ${direction} (${rxMode}): ${r.cpuMsPerMB.toFixed(0)} ms vs ws client ${base.cpuMsPerMB.toFixed(0)} ms = ${ratio.toFixed(2)}× (target ≤ 2×) ${ratio <= 2 ? 'met' : 'NOT met'}${vsFloor}`);
      }
    }
  }
  for (const rxMode of ['push', 'pull'] as const) {
    for (const direction of ['up', 'down'] as const) {
      const r = ours(0, direction, rxMode);
      const same = find((x) => x.transport === 'ws-over-modem' && x.baud === 0 && x.direction === direction && x.rxMode === rxMode);
      if (r?.cpuMsPerMB && same?.cpuMsPerMB) {
        summary.push(`websocket layer ${direction} (${rxMode}): ours ${r.cpuMsPerMB.toFixed(0)} ms/MB vs ws package over the same modem path ${same.cpuMsPerMB.toFixed(0)} ms/MB = ${(r.cpuMsPerMB / same.cpuMsPerMB).toFixed(2)}×`);
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
        find((x) => x.name === 'at-floor' && x.baud === baud && x.direction === direction && (direction === 'up' || x.rxMode === rxMode))?.cpuPercent;
      const fu = floor('up');
      const fd = floor('down');
      const vsFloor = fu != null && fd != null ? ` (bare AT exchange: up ${fmtPercent(fu)} %, down ${fmtPercent(fd)} %)` : '';
      summary.push(`CPU while saturating ${baud} (${rxMode}): up ${fmtPercent(up)} % of a core, down ${fmtPercent(down)} %${vsFloor}`);
    }
  }
  const plain = find((x) => x.name === 'ws-json-plain' && x.direction === 'down');
  const defl = find((x) => x.name === 'ws-json-deflate' && x.direction === 'down');
  if (plain?.payloadBytesPerSec && defl?.payloadBytesPerSec && plain.lineFraction != null && defl.lineFraction != null) {
    summary.push(`permessage-deflate on JSON (down, 115200): ${(defl.payloadBytesPerSec / plain.payloadBytesPerSec).toFixed(2)}× the payload rate (${defl.lineFraction.toFixed(2)} of line vs ${plain.lineFraction.toFixed(2)})`);
  }
  const rss = find((x) => x.name === 'peak-rss')?.peakRssMB;
  if (rss != null) summary.push(`peak RSS of the host process: ${rss.toFixed(1)} MB`);
  return summary;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A grouped bar chart: for each throttled throughput record, the achieved payload rate as a
 * fraction of the line rate (the dashed line at 1.0 is the line rate itself).
 */
export function toSvg(records: readonly BenchRecord[]): string {
  const bars = records.filter((r) => r.lineFraction !== null && r.payloadBytesPerSec !== null && r.direction !== 'echo');
  const width = Math.max(480, 60 + bars.length * 56);
  const height = 380;
  const top = 30;
  const bottom = 250;
  // Labels are rotated below the axis; the legend sits under them.
  const left = 50;
  const maxFraction = Math.max(1.1, ...bars.map((b) => b.lineFraction ?? 0));
  const y = (f: number) => bottom - (f / maxFraction) * (bottom - top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${left}" y="18" font-size="13">Payload rate as a fraction of line rate (baud/10): ws = websocket over the mock behind a pty</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(2)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${y(1)}" x2="${width - 10}" y2="${y(1)}" stroke="#c00" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${width - 12}" y="${y(1) - 4}" text-anchor="end" fill="#c00">line rate</text>`);
  bars.forEach((b, i) => {
    const x = left + 10 + i * 56;
    const f = b.lineFraction ?? 0;
    const color = b.direction === 'up' ? '#4477aa' : '#66aa55';
    parts.push(`<rect x="${x}" y="${y(f)}" width="40" height="${bottom - y(f)}" fill="${color}"><title>${esc(`${b.name}: ${fmtRate(b.payloadBytesPerSec)} = ${f.toFixed(3)} of line`)}</title></rect>`);
    parts.push(`<text x="${x + 20}" y="${y(f) - 3}" text-anchor="middle">${f.toFixed(2)}</text>`);
    const kind = b.name === 'ws-throughput' ? 'ws' : b.name === 'ws-json-deflate' ? 'json+deflate' : b.name === 'ws-json-plain' ? 'json' : b.name === 'mock-line-rate' ? 'line' : b.name === 'modem-socket-throughput' ? 'socket' : b.name === 'at-floor' ? 'floor' : b.name;
    const label = `${kind} ${b.baud} ${b.direction}${b.rxMode ? ` ${b.rxMode}` : ''}`;
    parts.push(`<text transform="translate(${x + 24},${bottom + 8}) rotate(60)" font-size="10">${esc(label)}</text>`);
  });
  parts.push(`<rect x="${left}" y="${height - 16}" width="10" height="10" fill="#4477aa"/><text x="${left + 14}" y="${height - 7}">up</text>`);
  parts.push(`<rect x="${left + 50}" y="${height - 16}" width="10" height="10" fill="#66aa55"/><text x="${left + 64}" y="${height - 7}">down</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Writes results.json, results.md and results.svg into `dir`. */
export async function writeResults(
  dir: string,
  records: readonly BenchRecord[],
  meta: { date: string; node: string; quick: boolean; summary?: string[] },
): Promise<{ json: string; md: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'results.json'), md: join(dir, 'results.md'), svg: join(dir, 'results.svg') };
  await writeFile(paths.json, JSON.stringify(records, null, 2) + '\n');
  await writeFile(paths.md, toMarkdown(records, meta));
  await writeFile(paths.svg, toSvg(records));
  return paths;
}
