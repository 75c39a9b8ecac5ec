/**
 * The measured workloads, written once against a minimal socket interface so the very same code
 * runs over the module path and over the `ws` package's client on loopback TCP.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { percentile } from './report.js';
import { jsonPayload } from './server.js';

/** What a workload needs from a websocket client. */
export interface BenchSocket {
  /** Resolves once the client can take more (its own backpressure). */
  send(data: Buffer | string, binary: boolean): Promise<void>;
  onMessage(handler: (data: Buffer, isBinary: boolean) => void): void;
  close(): Promise<void>;
}

/** Opens a websocket to `path` on the bench server. */
export type BenchConnect = (path: string, options: { deflate: boolean }) => Promise<BenchSocket>;

export interface Transfer {
  bytes: number;
  seconds: number;
  cpuMs: number;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
}

/** A queue of incoming messages with a bounded wait for the next one. */
function inbox(sock: BenchSocket): (timeoutMs: number, what: string) => Promise<{ data: Buffer; isBinary: boolean }> {
  const queued: { data: Buffer; isBinary: boolean }[] = [];
  let waiter: ((m: { data: Buffer; isBinary: boolean }) => void) | undefined;
  sock.onMessage((data, isBinary) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w({ data, isBinary });
    } else queued.push({ data, isBinary });
  });
  return (timeoutMs, what) => {
    const m = queued.shift();
    if (m) return Promise.resolve(m);
    return withTimeout(new Promise((resolve) => (waiter = resolve)), timeoutMs, what);
  };
}

/**
 * Upload: `total` bytes in messages of `size` (random binary, or JSON text) to the sink, timed
 * until the server confirms it has them all.
 */
export async function upload(
  connect: BenchConnect,
  total: number,
  size: number,
  opts: { deflate: boolean; kind?: 'random' | 'json'; timeoutMs: number },
): Promise<Transfer> {
  const sock = await connect('/bench/sink', { deflate: opts.deflate });
  const next = inbox(sock);
  const block = randomBytes(size);
  const cpu = process.cpuUsage();
  const start = performance.now();
  let sent = 0;
  let seq = 0;
  const work = (async () => {
    while (sent < total) {
      const n = Math.min(size, total - sent);
      if (opts.kind === 'json') await sock.send(jsonPayload(n, seq++), false);
      else await sock.send(block.subarray(0, n), true);
      sent += n;
    }
    await sock.send('report', false);
    const reply = JSON.parse((await next(opts.timeoutMs, 'upload report')).data.toString()) as { bytes: number };
    return reply.bytes;
  })();
  const bytes = await withTimeout(work, opts.timeoutMs, `upload of ${total} bytes`);
  const seconds = (performance.now() - start) / 1000;
  const cpuUsed = cpuMs(cpu);
  await sock.close();
  if (bytes !== total) throw new Error(`upload: server got ${bytes} bytes, sent ${total}`);
  return { bytes, seconds, cpuMs: cpuUsed };
}

/** Download: the server sends `total` bytes in messages of `size`; timed until its `end`. */
export async function download(
  connect: BenchConnect,
  total: number,
  size: number,
  opts: { deflate: boolean; kind?: 'random' | 'json'; timeoutMs: number },
): Promise<Transfer> {
  const sock = await connect('/bench/source', { deflate: opts.deflate });
  let bytes = 0;
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  sock.onMessage((data, isBinary) => {
    if (!isBinary && data.length === 3 && data.toString() === 'end') done();
    else bytes += data.length;
  });
  const cpu = process.cpuUsage();
  const start = performance.now();
  await sock.send(JSON.stringify({ bytes: total, size, kind: opts.kind ?? 'random' }), false);
  await withTimeout(ended, opts.timeoutMs, `download of ${total} bytes`);
  const seconds = (performance.now() - start) / 1000;
  const cpuUsed = cpuMs(cpu);
  await sock.close();
  if (bytes !== total) throw new Error(`download: got ${bytes} bytes, expected ${total}`);
  return { bytes, seconds, cpuMs: cpuUsed };
}

/** Echo round trips of `size`-byte binary messages, one at a time: p50/p99 in ms. */
export async function echoRtt(
  connect: BenchConnect,
  size: number,
  samples: number,
  timeoutMs: number,
): Promise<{ p50: number; p99: number; samples: number }> {
  const sock = await connect('/ws/echo2', { deflate: false });
  const next = inbox(sock);
  const payload = randomBytes(size);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await sock.send(payload, true);
    const m = await next(timeoutMs, `echo of ${size} bytes`);
    times.push(performance.now() - t0);
    if (!m.data.equals(payload)) throw new Error(`echo: got ${m.data.length} different bytes back`);
  }
  await sock.close();
  return { p50: percentile(times, 50), p99: percentile(times, 99), samples };
}

/**
 * The `ws` package's client on `url`, over loopback TCP or over the stream `createConnection`
 * gives it. `highWater`: queued bytes above which `send` waits for the write callback.
 */
function wsPackage(
  url: string,
  deflate: boolean,
  highWater: number,
  createConnection?: () => Duplex,
): Promise<BenchSocket> {
  return new Promise((resolve, reject) => {
    // handshakeTimeout needs the stream's setTimeout/'timeout' (ModemSocket has them, as net.Socket).
    const options: WebSocket.ClientOptions = { perMessageDeflate: deflate, handshakeTimeout: 30_000 };
    // Typed as net's connect, but ws only needs a Duplex of it (serial-notes: createConnection).
    if (createConnection)
      options.createConnection = createConnection as unknown as NonNullable<
        WebSocket.ClientOptions['createConnection']
      >;
    const ws = new WebSocket(url, options);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {});
      resolve({
        send: (data, binary) =>
          new Promise<void>((res, rej) => {
            // ws buffers without limit: wait for the write callback only once highWater is queued.
            let waiting = false;
            ws.send(data, { binary }, (err) => (err ? rej(err) : waiting ? res() : undefined));
            waiting = ws.bufferedAmount >= highWater;
            if (!waiting) res();
          }),
        onMessage: (h) => ws.on('message', (d, isBinary) => h(d as Buffer, isBinary)),
        close: () =>
          new Promise<void>((res) => {
            if (ws.readyState === WebSocket.CLOSED) return res();
            ws.once('close', () => res());
            ws.close(1000);
            setTimeout(() => ws.terminate(), 2000).unref();
          }),
      });
    });
  });
}

/** The `ws` package's client straight over loopback TCP: the baseline. */
export function wsDirect(port: number): BenchConnect {
  return (path, { deflate }) => wsPackage(`ws://127.0.0.1:${port}${path}`, deflate, 1 << 20);
}

/** What {@link wsOverModem} needs of a modem: a connected plain stream (Modem.openStream). */
export interface StreamSource {
  openStream(host: string, port: number, options: { tls: false }): Promise<Duplex>;
}

/**
 * The `ws` package's client over a stream through the module, the very stream our client gets
 * (`openerConnect` → `Modem.openStream`): the same path below the websocket layer, so the CPU
 * difference to our client is the websocket implementations' alone. The queue bound is our
 * client's (256 KiB), so both keep the same amount in flight.
 */
export function wsOverModem(modem: StreamSource, port: number): BenchConnect {
  return async (path, { deflate }) => {
    const stream = await modem.openStream('127.0.0.1', port, { tls: false });
    try {
      return await wsPackage(`ws://127.0.0.1:${port}${path}`, deflate, 256 * 1024, () => stream);
    } catch (err) {
      stream.destroy();
      throw err;
    }
  };
}
