/**
 * The benchmark run behind `air780 bench`: the mock in a separate process behind a pty
 * (`air780 mock --link`), the websocket server in another, and this process as the host
 * (serial port → AT channel → modem → websocket client), measured against the `ws` package's
 * client straight over loopback TCP to the same server.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Air780Error } from '../at/errors.js';
import { MockModem } from '../mock/index.js';
import { benchLibraries } from './libraries.js';
import { measureLineRate } from './mock-line-rate.js';
import { benchThroughput } from './modem-throughput.js';
import { Modem } from '../modem/index.js';
import { WebSocketClient, openerConnect } from '../ws/index.js';
import { fractionOf, lineRate, record, summaryLines, writeResults, type BenchRecord } from './report.js';
import { atFloor } from './floor.js';
import { benchServe } from '../serve/bench.js';
import { ceilingFractionOf, wsFrameOverhead } from './ceiling.js';
import {
  download,
  echoRtt,
  upload,
  wsDirect,
  wsOverModem,
  type BenchConnect,
  type BenchSocket,
  type Transfer,
} from './workloads.js';

export interface BenchOptions {
  quick: boolean;
  /** Where results go (default bench/ in the working directory). */
  outDir: string;
  /** Progress lines. */
  log: (line: string) => void;
  /** Only run measurements whose name contains this. */
  only?: string;
}

const MESSAGE = 16 * 1024;
const LATENCY_MS = 2;

export interface MockProcess {
  path: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns `air780 mock --link PATH` (2 ms latency) and waits for its ready line. `main`: the built
 * CLI to run (default: the one beside this file; tests that load this file from src/ pass dist's).
 */
export async function startMock(
  baud: number,
  log: (l: string) => void,
  main = fileURLToPath(new URL('../cli/main.js', import.meta.url)),
): Promise<MockProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'air780-bench-'));
  const path = join(dir, 'tty');
  const child = spawn(
    process.execPath,
    [main, 'mock', '--link', path, '--baud', String(baud), '--latency', String(LATENCY_MS)],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock did not start within 15 s: ${stderr}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('mock: ready on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock exited with ${code}: ${stderr.trim()}`));
    });
  });
  log(`  mock at ${baud || 'unthrottled'} baud on ${path} (pid ${child.pid})`);
  return {
    path,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Forks the bench websocket server; resolves with its port. */
export async function startServer(): Promise<{ port: number; rawPort: number; child: ChildProcess }> {
  const child = fork(fileURLToPath(new URL('./server.js', import.meta.url)), ['--child'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ports = await new Promise<{ port: number; rawPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not start within 10 s')), 10_000);
    child.once('message', (m: { port: number; rawPort: number }) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { ...ports, child };
}

/** The module path: our websocket client over a modem stream. */
export function modemWs(modem: Modem, port: number): BenchConnect {
  return async (path, { deflate }) => {
    const client = new WebSocketClient(`ws://127.0.0.1:${port}${path}`, {
      perMessageDeflate: deflate,
      keepaliveMs: 0,
      handshakeTimeoutMs: 30_000,
      connect: openerConnect(modem),
    });
    client.on('error', () => {});
    await client.opened();
    const sock: BenchSocket = {
      send: (data, binary) =>
        new Promise<void>((resolve, reject) => {
          // Keep a bounded amount queued: the client's queue is its backpressure.
          let waiting = false;
          client.send(data, { binary }, (err) => (err ? reject(err) : waiting ? resolve() : undefined));
          waiting = client.bufferedAmount >= 256 * 1024;
          if (!waiting) resolve();
        }),
      onMessage: (h) => client.on('message', (d, isBinary) => h(typeof d === 'string' ? Buffer.from(d) : d, isBinary)),
      close: async () => {
        if (client.state === 'closed') return;
        const closed = client.closed();
        client.close(1000);
        await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
        if ((client.state as string) !== 'closed') client.terminate();
      },
    };
    return sock;
  };
}

const rate = (t: Transfer) => t.bytes / t.seconds;
const perMB = (t: Transfer) => t.cpuMs / (t.bytes / 1e6);
/** Host CPU time over wall time, in percent of one core. */
const cpuPercent = (t: Transfer) => (t.cpuMs / (t.seconds * 1000)) * 100;

/** Frame bytes of one message each way (client frames are masked). */
function wireMs(size: number, baud: number): number {
  const ext = size > 65535 ? 8 : size > 125 ? 2 : 0;
  const up = 2 + ext + 4 + size;
  const down = 2 + ext + size;
  return ((up + down) * 10 * 1000) / baud;
}

/** What `--only` can select (a name matches when it contains the `--only` text). */
export const MEASUREMENTS = [
  'ws-throughput',
  'ws-over-modem',
  'cpu',
  'echo-rtt',
  'deflate',
  'line-rate',
  'socket-throughput',
  'libraries',
  'serve',
] as const;

/** `--only` that selects nothing: refused before anything runs or is written (`ERR_BENCH_ONLY`). */
export class BenchSelectionError extends Air780Error {
  constructor(only: string) {
    super(
      'ERR_BENCH_ONLY',
      `--only ${JSON.stringify(only)} selects no measurement; choose from ${MEASUREMENTS.join(', ')}`,
    );
  }
}

/** Runs every measurement; writes results; resolves with the records. */
export async function runBench(opts: BenchOptions): Promise<BenchRecord[]> {
  if (opts.only !== undefined && !MEASUREMENTS.some((m) => m.includes(opts.only!)))
    throw new BenchSelectionError(opts.only);
  const records: BenchRecord[] = [];
  let summary: string[] = [];
  const { log, quick } = opts;
  const want = (name: string) => !opts.only || name.includes(opts.only);
  const seconds = quick ? 1.5 : 4;
  const unthrottledBytes = quick ? 512 * 1024 : 2 * 1024 * 1024;
  const timeoutMs = (bytes: number, baud: number) => 30_000 + (baud ? (bytes / lineRate(baud)) * 3000 : 0);
  const bytesFor = (baud: number) =>
    baud ? Math.max(2 * MESSAGE, Math.round((lineRate(baud) * seconds) / MESSAGE) * MESSAGE) : unthrottledBytes;

  const server = await startServer();
  log(`bench server on 127.0.0.1:${server.port} (pid ${server.child.pid})`);
  try {
    // Baseline: the ws package straight over loopback TCP.
    const direct = wsDirect(server.port);
    if (want('ws-throughput') || want('cpu')) {
      log('ws-direct (ws package over loopback TCP)');
      await upload(direct, 256 * 1024, MESSAGE, { deflate: false, timeoutMs: 10_000 }); // warm-up
      const up = await upload(direct, unthrottledBytes * 4, MESSAGE, { deflate: false, timeoutMs: 60_000 });
      const down = await download(direct, unthrottledBytes * 4, MESSAGE, { deflate: false, timeoutMs: 60_000 });
      for (const [direction, t] of [
        ['up', up],
        ['down', down],
      ] as const) {
        records.push(
          record({
            name: 'ws-throughput',
            transport: 'ws-direct',
            baud: 0,
            direction,
            messageBytes: MESSAGE,
            payloadBytesPerSec: rate(t),
            cpuMsPerMB: perMB(t),
          }),
        );
      }
    }

    // The ws package over the module path: the same-path baseline of the websocket layer.
    const sameMeasured = want('ws-throughput') || want('ws-over-modem') || want('cpu');
    const needThrottled = ['ws-throughput', 'echo-rtt', 'deflate'].some(want);
    // Unthrottled runs only measure throughput and CPU: echo and deflate are line-rate measurements.
    const bauds = [...(needThrottled ? [115200, 921600] : []), ...(want('ws-throughput') || sameMeasured ? [0] : [])];
    for (const baud of bauds) {
      const mock = await startMock(baud, log);
      try {
        for (const rxMode of ['push', 'pull'] as const) {
          const modem = await Modem.open({ path: mock.path, baudRate: baud || 921600, rxMode });
          try {
            const connect = modemWs(modem, server.port);
            if (want('ws-throughput') || (baud === 0 && want('cpu'))) {
              const total = bytesFor(baud);
              if (baud === 0) {
                // The baseline gets a warm-up run; so does this path before its CPU is measured
                // (cold, a 512 KiB push download measured 55 ms/MB, a warm 32 MB one 22).
                await upload(connect, 256 * 1024, MESSAGE, { deflate: false, timeoutMs: timeoutMs(256 * 1024, 0) });
                await download(connect, 256 * 1024, MESSAGE, { deflate: false, timeoutMs: timeoutMs(256 * 1024, 0) });
              }
              for (const direction of ['up', 'down'] as const) {
                const run = direction === 'up' ? upload : download;
                const t = await run(connect, total, MESSAGE, { deflate: false, timeoutMs: timeoutMs(total, baud) });
                const r = record({
                  name: 'ws-throughput',
                  transport: 'modem-mock',
                  baud,
                  direction,
                  rxMode,
                  messageBytes: MESSAGE,
                  payloadBytesPerSec: rate(t),
                  lineFraction: fractionOf(rate(t), baud),
                  cpuMsPerMB: baud === 0 ? perMB(t) : null,
                  ceilingFraction: ceilingFractionOf(rate(t), {
                    baud,
                    latencyMs: LATENCY_MS,
                    direction,
                    rxMode,
                    messageBytes: MESSAGE,
                    frameOverhead: wsFrameOverhead(MESSAGE, direction),
                  }),
                  cpuPercent: baud === 0 ? null : cpuPercent(t),
                  note: baud === 115200 ? `target ≥ ${direction === 'up' ? '0.90' : '0.95'}` : undefined,
                });
                records.push(r);
                const cpu = r.cpuPercent != null ? `, CPU ${r.cpuPercent.toFixed(2)} % of a core` : '';
                log(
                  `  ${rxMode} ${direction}: ${(rate(t) / 1000).toFixed(1)} kB/s${r.lineFraction !== null ? ` = ${r.lineFraction.toFixed(3)} of line` : ''} (${t.bytes} B in ${t.seconds.toFixed(2)} s${cpu})`,
                );
              }
            }
            if (baud === 0 && sameMeasured) {
              // The ws package's client over the stream our client gets (Modem.openStream), warmed
              // up like ours: its CPU per MB is what a websocket layer costs on this very path.
              const same = wsOverModem(modem, server.port);
              const total = bytesFor(0);
              await upload(same, 256 * 1024, MESSAGE, { deflate: false, timeoutMs: timeoutMs(256 * 1024, 0) });
              await download(same, 256 * 1024, MESSAGE, { deflate: false, timeoutMs: timeoutMs(256 * 1024, 0) });
              for (const direction of ['up', 'down'] as const) {
                const run = direction === 'up' ? upload : download;
                const t = await run(same, total, MESSAGE, { deflate: false, timeoutMs: timeoutMs(total, 0) });
                records.push(
                  record({
                    name: 'ws-throughput',
                    transport: 'ws-over-modem',
                    baud,
                    direction,
                    rxMode,
                    messageBytes: MESSAGE,
                    payloadBytesPerSec: rate(t),
                    cpuMsPerMB: perMB(t),
                    note: 'ws package client over the same modem path',
                  }),
                );
                log(
                  `  ws package over the modem, ${rxMode} ${direction}: ${(rate(t) / 1000).toFixed(1)} kB/s, ${perMB(t).toFixed(0)} ms CPU/MB`,
                );
              }
            }
            if (baud !== 0 && rxMode === 'push' && want('echo-rtt')) {
              for (const size of [32, 1024]) {
                const samples = quick ? (size === 32 ? 10 : 5) : baud === 115200 && size === 1024 ? 20 : 40;
                const e = await echoRtt(connect, size, samples, 30_000);
                const w = wireMs(size, baud);
                records.push(
                  record({
                    name: 'echo-rtt',
                    transport: 'modem-mock',
                    baud,
                    direction: 'echo',
                    rxMode,
                    messageBytes: size,
                    p50Ms: e.p50,
                    p99Ms: e.p99,
                    wireMs: w,
                    note: `${e.samples} samples`,
                  }),
                );
                log(
                  `  echo ${size} B: p50 ${e.p50.toFixed(1)} ms, p99 ${e.p99.toFixed(1)} ms (wire ${w.toFixed(1)} ms)`,
                );
              }
            }
            if (baud === 115200 && rxMode === 'push' && want('deflate')) {
              for (const deflate of [false, true]) {
                // Compressed JSON moves several times faster: give it more bytes to stay measurable.
                const total = bytesFor(baud) * (deflate ? 4 : 1);
                for (const direction of ['up', 'down'] as const) {
                  const run = direction === 'up' ? upload : download;
                  const t = await run(connect, total, 4096, {
                    deflate,
                    kind: 'json',
                    timeoutMs: timeoutMs(total, baud),
                  });
                  records.push(
                    record({
                      name: deflate ? 'ws-json-deflate' : 'ws-json-plain',
                      transport: 'modem-mock',
                      baud,
                      direction,
                      rxMode,
                      messageBytes: 4096,
                      payloadBytesPerSec: rate(t),
                      lineFraction: fractionOf(rate(t), baud),
                      note: 'JSON telemetry, 4 KiB messages',
                    }),
                  );
                  log(
                    `  json ${deflate ? 'deflate' : 'plain'} ${direction}: ${(rate(t) / 1000).toFixed(1)} kB/s = ${fractionOf(rate(t), baud)!.toFixed(2)} of line`,
                  );
                }
              }
            }
          } finally {
            await modem.close();
          }
          if (want('ws-throughput') || want('cpu')) {
            // The same exchange with no library code: what the CPU figures above are to be read
            // against (per MB unthrottled; share of a core at line rate, where a shorter run does).
            const total = baud ? Math.round(lineRate(baud) * (quick ? 1 : 2)) : bytesFor(0);
            for (const direction of rxMode === 'push' ? (['up', 'down'] as const) : (['down'] as const)) {
              const t = await atFloor({
                path: mock.path,
                peerPort: server.rawPort,
                direction,
                rxMode,
                bytes: total,
                timeoutMs: timeoutMs(total, baud),
              });
              records.push(
                record({
                  name: 'at-floor',
                  transport: 'at-floor',
                  baud,
                  direction,
                  rxMode,
                  payloadBytesPerSec: rate(t),
                  lineFraction: fractionOf(rate(t), baud),
                  ceilingFraction: ceilingFractionOf(rate(t), { baud, latencyMs: LATENCY_MS, direction, rxMode }),
                  cpuMsPerMB: baud ? null : perMB(t),
                  cpuPercent: baud ? cpuPercent(t) : null,
                  note: 'bare AT exchange on the pty, no library code',
                }),
              );
              const cost = baud ? `${cpuPercent(t).toFixed(2)} % of a core` : `${perMB(t).toFixed(0)} ms CPU/MB`;
              log(
                `  AT floor ${rxMode} ${direction}: ${(rate(t) / 1000).toFixed(1)} kB/s${baud ? ` = ${fractionOf(rate(t), baud)!.toFixed(3)} of line` : ''}, ${cost}`,
              );
            }
          }
        }
      } finally {
        await mock.stop();
      }
    }
    if (want('line-rate')) {
      // The mock's raw simulated line, in-process (measureLineRate, src/bench/mock-line-rate.ts).
      for (const baud of [115200, 921600]) {
        const l = await measureLineRate(baud, quick ? 1 : 2);
        for (const [direction, bps, fraction] of [
          ['down', l.bytesPerSec, l.fraction],
          ['up', l.uplinkBytesPerSec, l.uplinkFraction],
        ] as const) {
          records.push(
            record({
              name: 'mock-line-rate',
              transport: 'modem-mock',
              baud,
              direction,
              payloadBytesPerSec: bps,
              lineFraction: fraction,
              note: 'raw simulated line, both ways at once, in-process',
            }),
          );
        }
        log(`  mock line rate at ${baud}: down ${l.fraction.toFixed(3)}, up ${l.uplinkFraction.toFixed(3)} of line`);
      }
    }
    if (want('socket-throughput')) {
      // The modem layer's own socket bench (benchThroughput, src/bench/modem-throughput.ts), on the in-process mock.
      const results = await benchThroughput({
        createModule: ({ baudRate, latencyMs }) => {
          const m = new MockModem({ baudRate, latencyMs });
          return { stream: m.hostStream(), close: () => m.close() };
        },
        baudRates: [115200, 921600],
        latencyMs: LATENCY_MS,
        seconds: quick ? 1 : 2,
      });
      for (const r of results) {
        records.push(
          record({
            name: 'modem-socket-throughput',
            transport: 'modem-mock',
            baud: r.baudRate,
            direction: r.direction,
            rxMode: r.rxMode,
            payloadBytesPerSec: r.bytesPerSecond,
            lineFraction: r.fraction,
            ceilingFraction: ceilingFractionOf(r.bytesPerSecond, {
              baud: r.baudRate,
              latencyMs: LATENCY_MS,
              direction: r.direction,
              rxMode: r.rxMode,
            }),
            note: 'raw TCP socket through the modem layer, in-process mock',
          }),
        );
        log(`  socket ${r.baudRate} ${r.rxMode} ${r.direction}: ${r.fraction.toFixed(3)} of line`);
      }
    }
    if (want('libraries')) {
      // fetch and MQTT through the adapters, against the raw module socket on the same modem.
      log('libraries (fetch, MQTT) at 115200 over the pty mock');
      const mock = await startMock(115200, log);
      try {
        const modem = await Modem.open({ path: mock.path, baudRate: 115200, rxMode: 'push' });
        try {
          const bytes = quick ? 128 * 1024 : 1024 * 1024;
          records.push(
            ...(await benchLibraries(modem, {
              baud: 115200,
              bytes,
              messages: quick ? 64 : 256,
              log,
              timeoutMs: timeoutMs(bytes, 115200),
            })),
          );
        } finally {
          await modem.close();
        }
      } finally {
        await mock.stop();
      }
    }
    if (want('serve')) {
      // air780 serve's proxies (src/serve/bench.ts): curl through SOCKS5 and the HTTP proxy against
      // a raw module socket on the same modem in the same run, and six parallel downloads.
      const bytes = quick ? 128 * 1024 : 1024 * 1024;
      // Six parallel downloads of a quarter each: the aggregate rate needs the line busy, not 6 MB.
      const parallelBytes = bytes / 4;
      for (const baud of [115200, 921600]) {
        log(`serve (SOCKS5, HTTP proxy) at ${baud} over the pty mock`);
        const mock = await startMock(baud, log);
        try {
          // Pull, as air780 serve opens a module: each client's backpressure reaches the module.
          const modem = await Modem.open({ path: mock.path, baudRate: baud, rxMode: 'pull' });
          try {
            const results = await benchServe(modem, {
              baud,
              bytes,
              parallelBytes,
              log,
              timeoutMs: timeoutMs(bytes, baud),
            });
            for (const r of results) {
              records.push(
                record({
                  name: r.path === 'raw' ? 'serve-raw-socket' : `serve-${r.path}`,
                  transport: 'modem-mock',
                  baud,
                  direction: r.direction,
                  rxMode: 'pull',
                  messageBytes: r.path === 'socks-x6' ? parallelBytes : bytes,
                  payloadBytesPerSec: r.bytesPerSec,
                  lineFraction: r.ofLine,
                  note:
                    r.path === 'raw'
                      ? 'HTTP over a raw ModemSocket, the reference for the serve records'
                      : r.path === 'socks-x6'
                        ? `six parallel curl downloads through SOCKS5 on one module, aggregate ${r.ofLine.toFixed(3)} of line (target ≥ 0.95)`
                        : `curl through ${r.path === 'socks' ? 'SOCKS5' : 'the HTTP proxy'}: ${r.ofRaw!.toFixed(3)} of the raw socket (target ≥ 0.97)`,
                }),
              );
            }
          } finally {
            await modem.close();
          }
        } finally {
          await mock.stop();
        }
      }
    }
    const rssMB = process.resourceUsage().maxRSS / 1024;
    records.push(
      record({
        name: 'peak-rss',
        transport: 'modem-mock',
        baud: 0,
        direction: 'echo',
        peakRssMB: rssMB,
        note: 'host process (driver + websocket + baseline), whole run',
      }),
    );

    summary = summaryLines(records);
  } finally {
    server.child.disconnect();
    server.child.kill();
  }
  const paths = await writeResults(opts.outDir, records, {
    date: new Date().toISOString(),
    node: process.version,
    quick,
    summary,
  });
  for (const s of summary) log(s);
  log(`wrote ${paths.json}, ${paths.md}, ${paths.svg}`);
  return records;
}
