/**
 * Full-duplex bulk exchange through a socat pty pair, repeated: with the stock `SerialPort` class
 * (whose native poller drops a pending read wait while a write waits) or with our transport.
 * A diagnostic and benchmark, not a test: run it from the built package with
 *   node dist/bench/serial/repro.js [stock|ours] [runs] [MiB]
 * The stock class comes from the `serialport` package, a development dependency: a checkout has it,
 * an installed copy of this package does not need it.
 */
import { pathToFileURL } from 'node:url';
import type { Duplex } from 'node:stream';
import { openSerialPort } from '../../modem/serial/index.js';
import { fullDuplexExchange, type ExchangeResult } from './exchange.js';
import { openPtyPair } from './pty-pair.js';

export type ReproTransport = 'stock' | 'ours';

export interface ReproOptions {
  transport: ReproTransport;
  runs?: number;
  /** Bytes each way per run (default 10 MiB). */
  bytes?: number;
  stallMs?: number;
  /** Called after each run. */
  onRun?: (run: number, result: ExchangeResult) => void;
}

export interface ReproSummary {
  transport: ReproTransport;
  runs: number;
  stalled: number;
  corrupted: number;
  passed: number;
  results: ExchangeResult[];
}

async function openStock(
  path: string,
): Promise<Duplex & { close(cb?: (err: Error | null) => void): void; isOpen: boolean }> {
  let SerialPort: typeof import('serialport').SerialPort;
  try {
    ({ SerialPort } = await import('serialport'));
  } catch (err) {
    throw new Error(
      "the 'stock' run needs the serialport package (a development dependency): run it from a checkout after npm ci, or use 'ours'",
      { cause: err },
    );
  }
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(port)));
    port.on('error', () => undefined);
  });
}

async function openPair(
  transport: ReproTransport,
  a: string,
  b: string,
): Promise<{ a: Duplex; b: Duplex; close(): Promise<void> }> {
  if (transport === 'ours') {
    const pa = await openSerialPort({ path: a });
    const pb = await openSerialPort({ path: b });
    return {
      a: pa,
      b: pb,
      close: async () => {
        await Promise.all([pa.close(), pb.close()]);
      },
    };
  }
  const pa = await openStock(a);
  const pb = await openStock(b);
  const closeOne = (p: typeof pa) => new Promise<void>((resolve) => (p.isOpen ? p.close(() => resolve()) : resolve()));
  return {
    a: pa,
    b: pb,
    close: async () => {
      await Promise.all([closeOne(pa), closeOne(pb)]);
    },
  };
}

/** Run the exchange `runs` times, each through a fresh pty pair, and count stalls and corruptions. */
export async function runDuplexRepro(options: ReproOptions): Promise<ReproSummary> {
  const runs = options.runs ?? 12;
  const results: ExchangeResult[] = [];
  for (let run = 0; run < runs; run++) {
    const pty = await openPtyPair();
    try {
      const ports = await openPair(options.transport, pty.a, pty.b);
      try {
        const result = await fullDuplexExchange(ports.a, ports.b, { bytes: options.bytes, stallMs: options.stallMs });
        results.push(result);
        options.onRun?.(run, result);
      } finally {
        await ports.close();
      }
    } finally {
      await pty.close();
    }
  }
  const stalled = results.filter((r) => r.stalled).length;
  const passed = results.filter((r) => r.ok).length;
  return { transport: options.transport, runs, stalled, corrupted: runs - passed - stalled, passed, results };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const transport = (process.argv[2] ?? 'stock') as ReproTransport;
  const runs = Number(process.argv[3] ?? 12);
  const mib = Number(process.argv[4] ?? 10);
  const summary = await runDuplexRepro({
    transport,
    runs,
    bytes: mib * 1024 * 1024,
    onRun: (run, r) =>
      process.stdout.write(
        `${transport} run ${run + 1}/${runs}: ${r.ok ? 'ok' : r.stalled ? 'STALLED' : 'FAILED'} in ${r.elapsedMs} ms` +
          ` (a→b ${r.aToB.received}/${r.aToB.sent}, b→a ${r.bToA.received}/${r.bToA.sent})${r.error ? ` ${r.error}` : ''}\n`,
      ),
  });
  process.stdout.write(
    `${transport}: ${summary.passed} passed, ${summary.stalled} stalled, ${summary.corrupted} failed otherwise, of ${summary.runs} runs of ${mib} MiB each way\n`,
  );
}
