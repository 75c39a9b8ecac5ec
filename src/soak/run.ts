/**
 * The randomized fault soak: a MockModem driven by a Modem, several websocket clients and a raw
 * module socket exchanging verified messages with a local server, while a seeded schedule injects
 * every fault the mock knows. See bench/soak.md for what is graded and how to replay a seed.
 */
import createDebug from 'debug';
import { MockModem } from '../mock/index.js';
import { Modem, type ModemOpenOptions } from '../modem/index.js';
import { createClients, type ClientLedger, type SoakClient } from './clients.js';
import { SoakError } from './errors.js';
import { activeMs, DEFAULT_PLAN, FaultPlan, inject, type FaultPlanOptions } from './faults.js';
import { grade, type FaultRecord, type Grade } from './grades.js';
import { freshSeed } from './rng.js';
import { startSoakServer, type ServerLedger } from './server.js';
import { trafficFor } from './traffic.js';

const debug = createDebug('air780:soak');

export interface SoakOptions {
  /** Seed of the fault schedule and of every message (default: fresh, and reported). */
  seed?: number;
  /** Length of the fault phase (default 120 000 ms); draining and grading add a few seconds. */
  durationMs?: number;
  /** Simulated serial line in baud; 0 = unthrottled (default 0). */
  baud?: number;
  /** The mock module's delay before each response (ms, default 0). */
  latencyMs?: number;
  /** Module receive mode (default 'push'). */
  rxMode?: 'push' | 'pull';
  /** Each client must be back within this long after a fault (default 30 000 ms). */
  recoveryBoundMs?: number;
  /** Allowed RSS growth over the warm-up level (default 100 MiB). */
  rssLimitMb?: number;
  /** Fault schedule shape. */
  plan?: Partial<FaultPlanOptions>;
  /** Driver options (the soak's defaults favour short timeouts so that many faults fit in a run). */
  modem?: ModemOpenOptions;
  /**
   * 'ci': the CI test's settings (short gaps and faults, 2 s command timeout) so that every fault
   * kind fits in 20 s. Explicit `plan`/`modem` options still win.
   */
  preset?: 'default' | 'ci';
  /** Progress lines (faults, recoveries), e.g. `console.log` in the CLI. */
  log?: (line: string) => void;
}

export interface ClientSummary {
  name: string;
  kind: string;
  sent: number;
  acked: number;
  failed: number;
  pending: number;
  received: number;
  receivedBytes: number;
  connects: number;
  outages: number;
  errors: Record<string, number>;
}

export interface SoakReport {
  seed: number;
  preset: 'default' | 'ci';
  durationMs: number;
  baud: number;
  latencyMs: number;
  rxMode: 'push' | 'pull';
  elapsedMs: number;
  faults: FaultRecord[];
  clients: ClientSummary[];
  server: {
    connections: number;
    messagesIn: number;
    messagesOut: number;
    bytesIn: number;
    bytesOut: number;
    corrupt: number;
  };
  rss: { baseline: number; peak: number; end: number; samples: number };
  heapUsedEnd: number;
  unhandled: string[];
  /** Received blocks the AT scanner cut (a reboot mid-block: silence; line noise: misaligned). */
  blockCuts: { silence: number; misaligned: number };
  grades: Grade[];
  pass: boolean;
}

/** The soak's driver options: the real defaults scaled down so recovery takes seconds, not minutes. */
export const SOAK_MODEM_OPTIONS: ModemOpenOptions = {
  syncIntervalMs: 500,
  pollIntervalMs: 100,
  commandTimeoutMs: 3000,
  recoveryBackoffMs: 200,
  recoveryMaxBackoffMs: 2000,
  resyncTimeoutMs: 1500,
};

/** The CI preset (see {@link SoakOptions.preset}). */
export const CI_PRESET: { plan: Partial<FaultPlanOptions>; modem: ModemOpenOptions } = {
  plan: { minGapMs: 200, maxGapMs: 1000, maxStallMs: 2500, maxUnplugMs: 1500, maxRebootDelayMs: 500, burstChance: 0.3 },
  modem: { commandTimeoutMs: 2000 },
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

async function until(pred: () => boolean, deadline: number): Promise<boolean> {
  while (!pred()) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Runs one soak and grades it. Never throws for a failed grade: read `pass` and `grades`. */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const seed = options.seed ?? freshSeed();
  const durationMs = options.durationMs ?? 120_000;
  const baud = options.baud ?? 0;
  const latencyMs = options.latencyMs ?? 0;
  const rxMode = options.rxMode ?? 'push';
  const bound = options.recoveryBoundMs ?? 30_000;
  const rssLimit = (options.rssLimitMb ?? 100) * 1024 * 1024;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new SoakError('ERR_SOAK_OPTION', `Bad seed ${seed}: use an integer 0..4294967295.`);
  if (!(durationMs > 0))
    throw new SoakError('ERR_SOAK_OPTION', `Bad duration ${durationMs} ms: use a positive number.`);
  if (!(baud >= 0))
    throw new SoakError(
      'ERR_SOAK_OPTION',
      `Bad baud rate ${baud}: use 0 (unthrottled) or a positive rate such as 115200.`,
    );
  const log = options.log ?? ((line: string) => debug(line));
  const traffic = trafficFor(baud);
  const preset = options.preset ?? 'default';
  const planOptions = { ...DEFAULT_PLAN, ...(preset === 'ci' ? CI_PRESET.plan : {}), ...options.plan };
  const modemOptions: ModemOpenOptions = {
    ...SOAK_MODEM_OPTIONS,
    ...(preset === 'ci' ? CI_PRESET.modem : {}),
    ...options.modem,
  };
  const commandTimeoutMs = modemOptions.commandTimeoutMs!;

  const unhandled: string[] = [];
  const onUncaught = (err: Error) => unhandled.push(`uncaught: ${err?.stack ?? String(err)}`);
  const onRejection = (reason: unknown) =>
    unhandled.push(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);

  const server = await startSoakServer({ seed, traffic });
  const mock = new MockModem({ baudRate: baud, latencyMs, quirks: ['boot-garbage', 'echo-after-reboot'] });
  let modem: Modem | undefined;
  let clients: SoakClient[] = [];
  const faults: FaultRecord[] = [];
  const blockCuts = { silence: 0, misaligned: 0 };
  const rssSamples: Array<{ t: number; rss: number }> = [];
  let sampler: NodeJS.Timeout | undefined;
  const start = Date.now();
  const since = () => Date.now() - start;
  try {
    // The line rate sets the scanner's mid-block silence bound, as it would on a real port.
    modem = await Modem.open({
      stream: mock.hostStream(),
      reopen: () => mock.hostStream(),
      rxMode,
      ...(baud ? { baudRate: baud } : {}),
      ...modemOptions,
    });
    modem.on('recovering', (reason: string) =>
      log(`  modem recovering (${reason}) at ${(since() / 1000).toFixed(1)} s`),
    );
    // Count the scanner's cuts on every AT channel the modem uses (a new one after a port reopen).
    const watched = new WeakSet<object>();
    const watchCuts = (m: Modem): void => {
      if (watched.has(m.at)) return;
      watched.add(m.at);
      m.at.on('cut', (c: { reason: 'silence' | 'misaligned'; line: string }) => {
        blockCuts[c.reason]++;
        log(`  block cut (${c.reason}): ${c.line} at ${(since() / 1000).toFixed(1)} s`);
      });
    };
    watchCuts(modem);
    const cutsModem = modem;
    modem.on('online', () => watchCuts(cutsModem));
    clients = createClients({
      modem,
      wsPort: server.wsPort,
      rawPort: server.rawPort,
      seed,
      traffic,
      reconnectMs: 1000,
      keepalive: 10,
    });
    for (const c of clients) c.start();
    const m = modem;
    const allBack = () => m.state === 'online' && clients.every((c) => c.ready());
    if (!(await until(allBack, Date.now() + bound))) {
      throw new SoakError(
        'ERR_SOAK_START',
        `Not every client connected within ${bound} ms: ${clients
          .filter((c) => !c.ready())
          .map((c) => c.name)
          .join(', ')}`,
      );
    }
    log(
      `seed ${seed}: ${clients.length} clients up after ${since()} ms (${rxMode} mode, ${baud ? `${baud} baud` : 'unthrottled'}${latencyMs ? `, ${latencyMs} ms latency` : ''})`,
    );

    sampler = setInterval(() => rssSamples.push({ t: since(), rss: process.memoryUsage().rss }), 500);
    const faultStart = Date.now();
    const plan = new FaultPlan(seed, planOptions);
    while (Date.now() - faultStart < durationMs) {
      const step = plan.next();
      await sleep(Math.min(step.gapMs, durationMs - (Date.now() - faultStart)));
      if (Date.now() - faultStart >= durationMs) break;
      const firstAt = Date.now();
      const specs: string[] = [];
      let lastAt = firstAt;
      let activeUntil = firstAt;
      for (const f of step.burst) {
        await sleep(f.offsetMs);
        lastAt = Date.now();
        specs.push(inject(mock, f));
        activeUntil = Math.max(activeUntil, lastAt + activeMs(f));
        // A lost final (or a stall) is only noticed when a command times out.
        if (f.kind === 'swallow' || f.kind === 'stall') activeUntil = Math.max(activeUntil, lastAt + commandTimeoutMs);
      }
      const atMs = firstAt - start;
      log(`  ${(atMs / 1000).toFixed(1)} s: ${specs.join(' + ')}`);
      // Let the fault play out and be noticed, then wait for every client to be back.
      await sleep(activeUntil + 500 - Date.now());
      const back = await until(allBack, lastAt + bound);
      const disturbed = clients.filter((c) => c.ledger.outages.some((o) => o.from >= firstAt));
      let recoveryMs: number | null = null;
      if (back) {
        recoveryMs = 0;
        for (const c of disturbed) {
          const last = c.ledger.outages[c.ledger.outages.length - 1]!;
          recoveryMs = Math.max(recoveryMs, (last.to ?? Date.now()) - firstAt);
        }
      }
      const notBack = back
        ? []
        : clients
            .filter((c) => !c.ready())
            .map((c) => c.name)
            .concat(m.state === 'online' ? [] : [`modem (${m.state})`]);
      faults.push({ atMs, specs, recoveryMs, disturbed: disturbed.map((c) => c.name), notBack });
      log(
        `    ${back ? `back after ${recoveryMs} ms` : `NOT BACK within ${bound} ms: ${notBack.join(', ')}`}${disturbed.length ? ` (disturbed: ${disturbed.map((c) => c.name).join(', ')})` : ''}`,
      );
    }

    // Drain: everyone back, stop new messages, let acknowledgements settle, then close cleanly.
    await until(allBack, Date.now() + bound);
    for (const c of clients) c.stopSending();
    server.stopSending();
    await until(() => clients.every((c) => c.pending() === 0), Date.now() + 45_000);
    await sleep(500);
  } finally {
    if (sampler) clearInterval(sampler);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await modem?.close().catch(() => undefined);
    await mock.close().catch(() => undefined);
    await sleep(200);
    await server.close();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  }

  const warmup = Math.min(15_000, durationMs / 4);
  const after = rssSamples.filter((s) => s.t - (rssSamples[0]?.t ?? 0) >= warmup);
  const baseline = after[0]?.rss ?? rssSamples[rssSamples.length - 1]?.rss ?? process.memoryUsage().rss;
  const peak = Math.max(baseline, ...after.map((s) => s.rss));
  const rss = { baseline, peak, end: process.memoryUsage().rss, samples: rssSamples.length };
  const grades = grade({
    clients: clients.map((c) => ({ name: c.name, ledger: c.ledger })),
    server: server.ledger,
    faults,
    recoveryBoundMs: bound,
    rss,
    rssLimitBytes: rssLimit,
    unhandled,
  });
  return {
    seed,
    preset,
    durationMs,
    baud,
    latencyMs,
    rxMode,
    elapsedMs: since(),
    faults,
    clients: clients.map((c) => summarize(c.name, c.kind, c.ledger)),
    server: serverSummary(server.ledger),
    rss,
    heapUsedEnd: process.memoryUsage().heapUsed,
    unhandled,
    blockCuts,
    grades,
    pass: grades.every((g) => g.pass),
  };
}

function summarize(name: string, kind: string, l: ClientLedger): ClientSummary {
  let acked = 0;
  let failed = 0;
  let pending = 0;
  for (const s of l.sends.values()) {
    if (s === 'acked') acked++;
    else if (s === 'failed') failed++;
    else pending++;
  }
  return {
    name,
    kind,
    sent: l.sends.size,
    acked,
    failed,
    pending,
    received: l.receivedOk,
    receivedBytes: l.receivedBytes,
    connects: l.connects,
    outages: l.outages.length,
    errors: Object.fromEntries(l.errors),
  };
}

function serverSummary(l: ServerLedger): SoakReport['server'] {
  let messagesIn = 0;
  for (const m of l.received.values()) for (const n of m.values()) messagesIn += n;
  return {
    connections: l.connections,
    messagesIn,
    messagesOut: l.sent,
    bytesIn: l.bytesIn,
    bytesOut: l.bytesOut,
    corrupt: l.corrupt.length,
  };
}
