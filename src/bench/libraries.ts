/**
 * Library records of the bench: 1 MiB down and up with `fetch` (undici through
 * `modem.dispatcher()`), and the MQTT publish rate of 1 KiB messages at QoS 0 and 1 (mqtt.js
 * through `modem.mqttStream()` to a local mosquitto), each as a fraction of the raw module socket
 * rate measured on the same modem in the same run. undici, mqtt.js and mosquitto are optional
 * here: a missing one is logged and its records are left out.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Modem } from '../modem/index.js';
import { dispatcher as modemDispatcher } from '../adapters/dispatcher.js';
import { mqttStream } from '../adapters/mqtt.js';
import { record, type BenchRecord } from './report.js';
import { startMosquitto } from './mosquitto.js';

const require = createRequire(import.meta.url);

export interface LibraryBenchOptions {
  /** Bytes of each transfer (raw socket and fetch, each way). Default 1 MiB. */
  bytes?: number;
  /** MQTT messages per QoS level (1 KiB each). Default 256. */
  messages?: number;
  /** Simulated line rate, for the records. */
  baud: number;
  log: (line: string) => void;
  /** Longest a single measurement may take. */
  timeoutMs: number;
}

interface Peers {
  httpPort: number;
  rawPort: number;
  close(): Promise<void>;
}

/**
 * In this process: an HTTP server (GET /bytes/N sends N bytes, POST /sink answers the count) and a
 * raw TCP peer (`down N\n`: N bytes then close; `up N\n`: reads N bytes, answers `ok\n`).
 */
async function startPeers(): Promise<Peers> {
  const block = randomBytes(64 * 1024);
  const send = (w: NodeJS.WritableStream & { write(b: Buffer): boolean }, n: number, done: () => void): void => {
    let left = n;
    const pump = (): void => {
      while (left > 0) {
        const k = Math.min(left, block.length);
        left -= k;
        if (!w.write(block.subarray(0, k))) return void w.once('drain', pump);
      }
      done();
    };
    pump();
  };
  const server = http.createServer((req, res) => {
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && m) {
      const n = Number(m[1]);
      res.writeHead(200, { 'content-length': n, 'content-type': 'application/octet-stream' });
      return send(res, n, () => res.end());
    }
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => res.end(JSON.stringify({ bytes: n })));
  });
  const raw = net.createServer((s) => {
    s.on('error', () => s.destroy());
    let head = '';
    const onHead = (d: Buffer): void => {
      head += d.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) return;
      s.off('data', onHead);
      const [dir, count] = head.slice(0, nl).split(' ');
      const n = Number(count);
      if (dir === 'down') return send(s, n, () => s.end());
      let got = head.length - nl - 1;
      const check = () => {
        if (got >= n) s.end('ok\n');
      };
      s.on('data', (c: Buffer) => {
        got += c.length;
        check();
      });
      check();
    };
    s.on('data', onHead);
  });
  const listen = (srv: net.Server) =>
    new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)));
  const [httpPort, rawPort] = [await listen(server), await listen(raw)];
  return {
    httpPort,
    rawPort,
    close: async () => {
      server.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => raw.close(r))]);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(t));
}

/** Seconds from the first byte written to the last byte through a raw module socket. */
async function rawTransfer(modem: Modem, port: number, direction: 'up' | 'down', bytes: number): Promise<number> {
  const s = modem.connect('127.0.0.1', port);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (direction === 'down' && got >= bytes) resolve();
      if (direction === 'up' && d.toString().includes('ok')) resolve();
    });
    s.write(`${direction} ${bytes}\n`);
    if (direction === 'up') {
      const block = randomBytes(64 * 1024);
      let left = bytes;
      const pump = (): void => {
        while (left > 0) {
          const k = Math.min(left, block.length);
          left -= k;
          if (!s.write(block.subarray(0, k))) return void s.once('drain', pump);
        }
      };
      pump();
    }
  });
  const seconds = (performance.now() - start) / 1000;
  s.destroy();
  return seconds;
}

function optional<T>(pkg: string, log: (l: string) => void): T | undefined {
  try {
    return require(pkg) as T;
  } catch {
    log(`  ${pkg} is not installed: its records are skipped`);
    return undefined;
  }
}

/** Runs the library measurements on an online modem; resolves with their records. */
export async function benchLibraries(modem: Modem, opts: LibraryBenchOptions): Promise<BenchRecord[]> {
  const bytes = opts.bytes ?? 1024 * 1024;
  const messages = opts.messages ?? 256;
  const { baud, log, timeoutMs } = opts;
  const records: BenchRecord[] = [];
  const peers = await startPeers();
  try {
    const raw: Record<'up' | 'down', number> = { up: 0, down: 0 };
    for (const direction of ['down', 'up'] as const) {
      const seconds = await withTimeout(
        rawTransfer(modem, peers.rawPort, direction, bytes),
        timeoutMs,
        `raw ${direction}`,
      );
      raw[direction] = bytes / seconds;
      records.push(
        record({
          name: 'raw-socket',
          transport: 'modem-mock',
          baud,
          direction,
          rxMode: modem.rxMode,
          payloadBytesPerSec: raw[direction],
          lineFraction: baud ? raw[direction] / (baud / 10) : null,
          note: 'ModemSocket, the reference for the library records',
        }),
      );
      log(`  raw socket ${direction}: ${(raw[direction] / 1000).toFixed(2)} kB/s`);
    }
    const undici = optional<typeof import('undici')>('undici', log);
    if (undici) {
      const dispatcher = modemDispatcher(modem);
      try {
        for (const direction of ['down', 'up'] as const) {
          const start = performance.now();
          if (direction === 'down') {
            const res = await withTimeout(
              undici
                .fetch(`http://127.0.0.1:${peers.httpPort}/bytes/${bytes}`, { dispatcher })
                .then((r) => r.arrayBuffer()),
              timeoutMs,
              'fetch down',
            );
            if (res.byteLength !== bytes) throw new Error(`fetch down: ${res.byteLength} of ${bytes} bytes`);
          } else {
            const body = randomBytes(bytes);
            const res = await withTimeout(
              undici
                .fetch(`http://127.0.0.1:${peers.httpPort}/sink`, { method: 'POST', body, dispatcher })
                .then((r) => r.json() as Promise<{ bytes: number }>),
              timeoutMs,
              'fetch up',
            );
            if (res.bytes !== bytes) throw new Error(`fetch up: the server got ${res.bytes} of ${bytes} bytes`);
          }
          const rate = bytes / ((performance.now() - start) / 1000);
          const fraction = rate / raw[direction];
          records.push(
            record({
              name: 'http-fetch',
              transport: 'modem-mock',
              baud,
              direction,
              rxMode: modem.rxMode,
              messageBytes: bytes,
              payloadBytesPerSec: rate,
              lineFraction: baud ? rate / (baud / 10) : null,
              note: `${fraction.toFixed(3)} of the raw socket (target ≥ 0.97); undici fetch via dispatcher()`,
            }),
          );
          log(`  fetch ${direction}: ${(rate / 1000).toFixed(2)} kB/s = ${fraction.toFixed(3)} of the raw socket`);
        }
      } finally {
        await dispatcher.close();
      }
    }
    const mqtt = optional<typeof import('mqtt')>('mqtt', log);
    if (mqtt) {
      let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
      try {
        const dir = mkdtempSync(join(tmpdir(), 'air780-bench-pki-'));
        const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
        // The broker's TLS listener needs a certificate; the bench only uses the plain one.
        ssl([
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          'k.pem',
          '-out',
          'c.pem',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
        ]);
        const read = (f: string) => readFileSync(join(dir, f), 'utf8');
        broker = await startMosquitto({ cert: read('c.pem'), key: read('k.pem'), ca: read('c.pem') });
      } catch (err) {
        log(`  mosquitto could not start (${(err as Error).message.split('\n')[0]}): MQTT records skipped`);
      }
      if (broker) {
        try {
          for (const qos of [0, 1] as const) {
            const client = new mqtt.MqttClient(mqttStream(modem, { host: '127.0.0.1', port: broker.port }), {
              protocolVersion: 4,
              reconnectPeriod: 0,
              connectTimeout: 30_000,
            });
            client.on('error', () => {});
            await withTimeout(new Promise<void>((r) => client.once('connect', () => r())), timeoutMs, 'mqtt connect');
            const payload = randomBytes(1024);
            const start = performance.now();
            const acks: Array<Promise<unknown>> = [];
            for (let i = 0; i < messages; i++) acks.push(client.publishAsync('bench/telemetry', payload, { qos }));
            await withTimeout(Promise.all(acks), timeoutMs, `mqtt qos ${qos}`);
            // QoS 0 resolves once written into the socket: wait until the module accepted every byte.
            const socket = (
              client as unknown as {
                stream: {
                  delivery?: {
                    bytesQueued: number;
                    waitAccepted(o: number, x?: { timeoutMs?: number }): Promise<void>;
                  };
                };
              }
            ).stream;
            if (socket.delivery) await socket.delivery.waitAccepted(socket.delivery.bytesQueued, { timeoutMs });
            const rate = (messages * 1024) / ((performance.now() - start) / 1000);
            const fraction = rate / raw.up;
            await client.endAsync();
            records.push(
              record({
                name: `mqtt-qos${qos}`,
                transport: 'modem-mock',
                baud,
                direction: 'up',
                rxMode: modem.rxMode,
                messageBytes: 1024,
                payloadBytesPerSec: rate,
                lineFraction: baud ? rate / (baud / 10) : null,
                note: `${fraction.toFixed(3)} of the raw socket${qos === 0 ? ' (target ≥ 0.95)' : ''}; ${messages} publishes, mqtt.js via mqttStream()`,
              }),
            );
            log(`  mqtt QoS ${qos}: ${(rate / 1024).toFixed(1)} msg/s = ${fraction.toFixed(3)} of the raw socket`);
          }
        } finally {
          await broker.stop();
        }
      }
    }
  } finally {
    await peers.close();
  }
  return records;
}
