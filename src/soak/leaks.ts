#!/usr/bin/env node
/**
 * Leak bench: many messages and many connect/disconnect cycles through the mock module, with heap
 * and RSS measured after a forced GC before and after each phase.
 *
 *   node --expose-gc dist/soak/leaks.js [--messages 100000] [--cycles 1000] [--rounds 2] [--json FILE]
 */
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { MockModem } from '../mock/index.js';
import { Modem } from '../modem/index.js';
import { openerConnect, websocket, WebSocketClient } from '../ws/index.js';
import { SoakError } from './errors.js';
import { Rng } from './rng.js';
import { SOAK_MODEM_OPTIONS } from './run.js';

export interface MemoryPoint {
  heapUsed: number;
  /** V8 heap committed (kept after a GC, part of RSS). */
  heapTotal: number;
  rss: number;
  /** Of `rss`: file-backed pages (the node binary's code paged in as new paths run; Linux only, else 0). */
  rssFile: number;
  /** Of `rss`: anonymous memory (heaps, buffers, allocator arenas; Linux only, else 0). */
  rssAnon: number;
  external: number;
  arrayBuffers: number;
}

/** RssFile / RssAnon from /proc/self/status: tells code paged in from memory that was allocated. */
function rssSplit(): { rssFile: number; rssAnon: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rssFile: kb('RssFile'), rssAnon: kb('RssAnon') };
  } catch {
    return { rssFile: 0, rssAnon: 0 };
  }
}

export interface LeakPhase {
  /** "100000 messages (round 1)", ... */
  name: string;
  ms: number;
  /** Memory after a forced GC before and after the phase. */
  before: MemoryPoint;
  after: MemoryPoint;
}

export interface LeakReport {
  messages: number;
  cycles: number;
  rounds: number;
  /** Echoes that did not match what was sent (must be 0). */
  mismatches: number;
  /** Cycles that failed (connect or exchange). */
  cycleFailures: number;
  /** Each round runs the message phase, then the cycle phase. */
  phases: LeakPhase[];
  /** From after the warm-up to the end. */
  total: { before: MemoryPoint; after: MemoryPoint };
}

export interface LeakOptions {
  messages?: number;
  cycles?: number;
  /**
   * How many times both phases run (default 2). RSS is a high-water mark that the allocator rarely
   * gives back: the first round shows it rising, later rounds show whether it keeps rising (a leak).
   */
  rounds?: number;
  /** Wait before each measurement so the mock's deferred socket destroys have run (default 2500 ms). */
  settleMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function forcedGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc)
    throw new SoakError(
      'ERR_SOAK_OPTION',
      'The leak bench needs a forced GC: run it with `node --expose-gc dist/soak/leaks.js`.',
    );
  return gc;
}

async function settledMemory(settleMs: number): Promise<MemoryPoint> {
  const gc = forcedGc();
  // The mock destroys a closed link's host socket up to 2 s later (a graceful close): wait for
  // those, so that sockets still inside that window are not counted as growth.
  await sleep(settleMs);
  // Several rounds with turns of the event loop between: finalizers and closed handles free more.
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50);
  }
  const m = process.memoryUsage();
  return {
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    ...rssSplit(),
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

/** Runs both phases and reports memory at each point. */
export async function measureLeaks(options: LeakOptions = {}): Promise<LeakReport> {
  const total = options.messages ?? 100_000;
  const cycles = options.cycles ?? 1000;
  const rounds = options.rounds ?? 2;
  const settleMs = options.settleMs ?? 2500;
  forcedGc();
  const log = options.log ?? (() => undefined);
  const rng = new Rng(1);

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws: WebSocket) =>
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })),
  );
  const raw = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  const wsPort = (wss.address() as net.AddressInfo).port;
  const rawPort = (raw.address() as net.AddressInfo).port;
  const url = `ws://127.0.0.1:${wsPort}/leaks`;

  // The mock's transcript is a test aid bounded at 1 MiB / 10 000 entries by default; keep it
  // small so that filling it up is not mistaken for growth of the driver.
  const mock = new MockModem({ transcriptMaxEntries: 200, transcriptMaxBytes: 64 * 1024 });
  const modem = await Modem.open({ stream: mock.hostStream(), reopen: () => mock.hostStream(), ...SOAK_MODEM_OPTIONS });
  let mismatches = 0;
  let cycleFailures = 0;

  /** `n` echoed messages on one core client, up to 64 in flight. */
  async function messages(n: number): Promise<void> {
    const c = new WebSocketClient(url, { connect: openerConnect(modem), keepaliveMs: 0, perMessageDeflate: false });
    c.on('error', () => undefined);
    await c.opened();
    const inFlight: Buffer[] = [];
    let sent = 0;
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      const fill = () => {
        while (sent < n && inFlight.length < 64) {
          const m = rng.bytes(rng.int(16, 512));
          inFlight.push(m);
          c.send(m);
          sent++;
        }
      };
      c.on('message', (data) => {
        const want = inFlight.shift();
        if (!want?.equals(data as Buffer)) mismatches++;
        got++;
        if (got % 10_000 === 0) log(`  ${got} messages`);
        if (got === n) resolve();
        else fill();
      });
      c.once('close', () => got < n && reject(new Error(`the client closed after ${got} of ${n} messages`)));
      fill();
    });
    const closed = c.closed();
    c.close();
    await Promise.race([closed, sleep(5000)]);
  }

  /** One connect, exchange, disconnect: the core client, the LuatOS client or a raw socket in turn. */
  async function cycle(i: number): Promise<void> {
    const kind = i % 3;
    if (kind === 0) {
      const c = new WebSocketClient(url, { connect: openerConnect(modem), keepaliveMs: 0 });
      c.on('error', () => undefined);
      await c.opened();
      const echo = once(c, 'message');
      c.send(`cycle ${i}`);
      const [data] = await echo;
      if (data !== `cycle ${i}`) mismatches++;
      const closed = once(c, 'close');
      c.close();
      await closed;
    } else if (kind === 1) {
      const wsc = websocket.create(modem, url, 60);
      if (!wsc) throw new Error('websocket.create refused the URL');
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('LuatOS cycle timed out')), 15_000);
        wsc.on((client, event, data) => {
          if (event === 'conack') client.send(`cycle ${i}`);
          else if (event === 'recv') {
            if (data !== `cycle ${i}`) mismatches++;
            clearTimeout(t);
            resolve();
          } else if (event === 'error' || event === 'disconnect') {
            clearTimeout(t);
            reject(new Error(`LuatOS cycle: ${event}`));
          }
        });
        wsc.connect();
      });
      wsc.close();
    } else {
      const s = modem.connect('127.0.0.1', rawPort);
      await once(s, 'connect');
      const msg = Buffer.from(`cycle ${i}`);
      s.write(msg);
      const [data] = await once(s, 'data');
      if (!msg.equals(data as Buffer)) mismatches++;
      const closed = once(s, 'close');
      s.end();
      s.resume();
      await closed;
    }
  }

  async function cyclesPhase(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      try {
        await cycle(i);
      } catch (err) {
        cycleFailures++;
        log(`  cycle ${i} failed: ${(err as Error).message}`);
      }
      if ((i + 1) % 100 === 0) log(`  ${i + 1} cycles`);
    }
  }

  try {
    log('warm-up: 1000 messages, 30 cycles');
    await messages(1000);
    await cyclesPhase(30);
    const first = await settledMemory(settleMs);
    const phases: LeakPhase[] = [];
    let before = first;
    const phase = async (name: string, run: () => Promise<void>) => {
      log(name);
      const t = Date.now();
      await run();
      const ms = Date.now() - t;
      const after = await settledMemory(settleMs);
      phases.push({ name, ms, before, after });
      before = after;
    };
    for (let r = 1; r <= rounds; r++) {
      await phase(`${total} messages (round ${r})`, () => messages(total));
      await phase(`${cycles} cycles (round ${r})`, () => cyclesPhase(cycles));
    }
    return {
      messages: total,
      cycles,
      rounds,
      mismatches,
      cycleFailures,
      phases,
      total: { before: first, after: before },
    };
  } finally {
    await modem.close().catch(() => undefined);
    await mock.close().catch(() => undefined);
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => raw.close(() => r()));
  }
}

const MB = 1024 * 1024;
const mb = (n: number) => `${n >= 0 ? '+' : ''}${(n / MB).toFixed(2)} MB`;

/** The report as a text table. */
export function formatLeakReport(r: LeakReport): string {
  const row = (name: string, a: MemoryPoint, b: MemoryPoint, ms?: number) =>
    `  ${name.padEnd(30)} ${ms === undefined ? '       ' : `${(ms / 1000).toFixed(1).padStart(5)} s`}  heap ${mb(b.heapUsed - a.heapUsed).padStart(10)}  heap committed ${mb(b.heapTotal - a.heapTotal).padStart(10)}  rss ${mb(b.rss - a.rss).padStart(10)} (file ${mb(b.rssFile - a.rssFile)}, anon ${mb(b.rssAnon - a.rssAnon)})  external ${mb(b.external - a.external).padStart(10)}`;
  const at = (m: MemoryPoint) =>
    `heap ${(m.heapUsed / MB).toFixed(2)} MB (committed ${(m.heapTotal / MB).toFixed(2)} MB), rss ${(m.rss / MB).toFixed(2)} MB, external ${(m.external / MB).toFixed(2)} MB`;
  return [
    `leaks: ${r.rounds} rounds of ${r.messages} echoed messages and ${r.cycles} connect/disconnect cycles through the mock; ${r.mismatches} echo mismatches, ${r.cycleFailures} failed cycles`,
    `  after warm-up: ${at(r.total.before)}`,
    `  at the end:    ${at(r.total.after)}`,
    'growth per phase (after forced GC):',
    ...r.phases.map((p) => row(p.name, p.before, p.after, p.ms)),
    row('total', r.total.before, r.total.after),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const opts: LeakOptions = { log: (l) => process.stdout.write(`${l}\n`) };
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if ((a === '--messages' || a === '--cycles' || a === '--rounds') && v !== undefined && /^\d+$/.test(v)) {
      if (a === '--messages') opts.messages = Number(v);
      else if (a === '--cycles') opts.cycles = Number(v);
      else opts.rounds = Math.max(1, Number(v));
      i++;
    } else if (a === '--json' && v !== undefined) {
      json = v;
      i++;
    } else {
      process.stderr.write(
        `Unknown or incomplete option ${a}. usage: node --expose-gc dist/soak/leaks.js [--messages N] [--cycles N] [--rounds N] [--json file]\n`,
      );
      process.exit(2);
    }
  }
  const r = await measureLeaks(opts);
  process.stdout.write(`${formatLeakReport(r)}\n`);
  if (json) writeFileSync(json, JSON.stringify(r, null, 2));
  process.exit(r.mismatches === 0 && r.cycleFailures === 0 ? 0 : 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`leak bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  });
}
