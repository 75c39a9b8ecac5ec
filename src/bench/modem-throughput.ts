import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Modem } from '../modem/index.js';

/** A simulated module for the bench (the bench passes the mock). */
export interface BenchModule {
  stream: Duplex;
  close(): Promise<void>;
}

/** Options of {@link benchThroughput}. */
export interface ThroughputBenchOptions {
  /** Creates a module with this line rate and per-response latency (e.g. `new MockModem({ baudRate, latencyMs })`). */
  createModule(options: { baudRate: number; latencyMs: number }): BenchModule | Promise<BenchModule>;
  baudRates?: number[];
  latencyMs?: number;
  modes?: Array<'push' | 'pull'>;
  directions?: Array<'up' | 'down'>;
  /** Seconds of line time each run moves (payload = baud/10 × seconds). Default 3. */
  seconds?: number;
}

/** One measurement. */
export interface ThroughputResult {
  baudRate: number;
  rxMode: 'push' | 'pull';
  direction: 'up' | 'down';
  bytes: number;
  ms: number;
  /** Payload bytes per second. */
  bytesPerSecond: number;
  /** Payload rate as a fraction of the line rate (baud/10 bytes/s). */
  fraction: number;
}

/**
 * Socket payload throughput through a simulated line, up (host → peer) and down, push and pull
 * mode, as a fraction of the line rate.
 */
export async function benchThroughput(options: ThroughputBenchOptions): Promise<ThroughputResult[]> {
  const out: ThroughputResult[] = [];
  for (const baudRate of options.baudRates ?? [115200, 921600]) {
    for (const rxMode of options.modes ?? ['push', 'pull']) {
      for (const direction of options.directions ?? ['up', 'down']) {
        out.push(await runOne(options, baudRate, rxMode, direction));
      }
    }
  }
  return out;
}

async function runOne(
  options: ThroughputBenchOptions,
  baudRate: number,
  rxMode: 'push' | 'pull',
  direction: 'up' | 'down',
): Promise<ThroughputResult> {
  const lineRate = baudRate / 10;
  const bytes = Math.round(lineRate * (options.seconds ?? 3));
  const payload = Buffer.alloc(bytes, 0x5a);
  let serverDone!: (ms: number) => void;
  const serverFinished = new Promise<number>((r) => (serverDone = r));
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    if (direction === 'down') {
      s.end(payload);
      return;
    }
    let got = 0;
    let first = 0;
    s.on('data', (b: Buffer) => {
      if (got === 0) first = performance.now();
      got += b.length;
      if (got >= bytes) serverDone(performance.now() - first);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const module = await options.createModule({ baudRate, latencyMs: options.latencyMs ?? 2 });
  const modem = await Modem.open({ stream: module.stream, rxMode, syncIntervalMs: 1000 });
  try {
    const socket = modem.connect('127.0.0.1', (server.address() as AddressInfo).port);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const connectedAt = performance.now();
    let ms: number;
    let counted = bytes;
    if (direction === 'up') {
      socket.resume();
      const start = performance.now();
      for (let off = 0; off < bytes; off += 16384) {
        if (!socket.write(payload.subarray(off, off + 16384))) await new Promise((r) => socket.once('drain', r));
      }
      await serverFinished;
      ms = performance.now() - start;
    } else {
      // Down: the server sends as soon as the link connects, so bytes may already be on their way
      // (or, after a stall, arrive as one catch-up burst of the simulated line) before any clock
      // here could start. Timing from 'connect' credited that line time to the run (1.053 of the
      // line rate was once reported). So the clock starts at the first delivery, and what arrives
      // with it (everything handled before the event loop turns: one read from the port can hold
      // several blocks), whose line time lies before the clock started, is not counted.
      const r = await new Promise<{ ms: number; counted: number }>((resolve, reject) => {
        let got = 0;
        let first = 0;
        let before = 0;
        let clockRunning = false;
        socket.on('data', (b: Buffer) => {
          if (got === 0) {
            first = performance.now();
            setImmediate(() => (clockRunning = true));
          }
          got += b.length;
          if (!clockRunning) before += b.length;
          if (got < bytes) return;
          // All of it in one burst (a tiny run): only the time since 'connect' is left to go by.
          if (got === before) resolve({ ms: performance.now() - connectedAt, counted: got });
          else resolve({ ms: performance.now() - first, counted: got - before });
        });
        socket.once('error', reject);
      });
      ms = r.ms;
      counted = r.counted;
    }
    socket.destroy();
    const bytesPerSecond = (counted / ms) * 1000;
    return {
      baudRate,
      rxMode,
      direction,
      bytes,
      ms: Math.round(ms),
      bytesPerSecond: Math.round(bytesPerSecond),
      fraction: Number((bytesPerSecond / lineRate).toFixed(3)),
    };
  } finally {
    await modem.close();
    await module.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
