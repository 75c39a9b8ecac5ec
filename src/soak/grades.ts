/** The soak's verdicts, computed from the ledgers alone (so they can be checked on made-up ledgers). */
import type { ClientLedger } from './clients.js';
import type { ServerLedger } from './server.js';

export interface Grade {
  name: string;
  pass: boolean;
  detail: string;
}

export interface FaultRecord {
  /** ms since the start of the run. */
  atMs: number;
  /** The faults of the burst as `applyFault` lines. */
  specs: string[];
  /** Time from the burst's last fault until every disturbed client was back; null if not within the bound. */
  recoveryMs: number | null;
  /** Clients that went down because of it. */
  disturbed: string[];
  /** Clients still down when the bound ran out. */
  notBack: string[];
}

export interface GradeInput {
  clients: Array<{ name: string; ledger: ClientLedger }>;
  server: ServerLedger;
  faults: FaultRecord[];
  recoveryBoundMs: number;
  /** RSS at the end of warm-up and the highest RSS after it, bytes. */
  rss: { baseline: number; peak: number };
  rssLimitBytes: number;
  unhandled: string[];
}

const MB = 1024 * 1024;
const some = (xs: string[], n = 5): string =>
  xs.slice(0, n).join('; ') + (xs.length > n ? `; … ${xs.length - n} more` : '');

/** Every grade, in report order. */
export function grade(input: GradeInput): Grade[] {
  return [traffic(input), delivered(input), received(input), recovery(input), memory(input), unhandled(input)];
}

function traffic({ clients }: GradeInput): Grade {
  const idle = clients
    .filter((c) => ![...c.ledger.sends.values()].includes('acked') || c.ledger.receivedOk === 0)
    .map((c) => c.name);
  return {
    name: 'traffic flowed (every client had messages acknowledged and received messages)',
    pass: idle.length === 0,
    detail: idle.length === 0 ? `${clients.length} clients` : `no traffic on: ${idle.join(', ')}`,
  };
}

function delivered({ clients, server }: GradeInput): Grade {
  const problems: string[] = [];
  let acked = 0;
  let unacked = 0;
  let unackedArrived = 0;
  const known = new Set(clients.map((c) => c.name));
  for (const c of clients) {
    const got = server.received.get(c.name) ?? new Map<number, number>();
    for (const [seq, state] of c.ledger.sends) {
      const n = got.get(seq) ?? 0;
      if (state === 'acked') {
        acked++;
        if (n === 0) problems.push(`${c.name} #${seq} acknowledged but never reached the server`);
      } else {
        unacked++;
        if (n > 0) unackedArrived++;
      }
      if (n > 1) problems.push(`${c.name} #${seq} reached the server ${n} times`);
    }
    for (const seq of got.keys())
      if (!c.ledger.sends.has(seq)) problems.push(`${c.name} #${seq} at the server but never sent`);
  }
  for (const id of server.received.keys()) if (!known.has(id)) problems.push(`messages from unknown sender ${id}`);
  for (const k of server.corrupt) problems.push(`corrupt at the server (${k.where}): ${k.reason}`);
  return {
    name: 'every acknowledged message reached the server exactly once and intact; nothing corrupted or duplicated',
    pass: problems.length === 0,
    detail:
      problems.length === 0
        ? `${acked} acknowledged, all delivered once; ${unacked} not acknowledged (${unackedArrived} of them arrived anyway, once)`
        : some(problems),
  };
}

function received({ clients }: GradeInput): Grade {
  const problems: string[] = [];
  let ok = 0;
  for (const c of clients) {
    ok += c.ledger.receivedOk;
    for (const x of c.ledger.corrupt) problems.push(`${c.name}: corrupt: ${x}`);
    for (const x of c.ledger.duplicates) problems.push(`${c.name}: duplicate: ${x}`);
    for (const x of c.ledger.disorder) problems.push(`${c.name}: out of order: ${x}`);
  }
  return {
    name: 'clients received no corrupted, duplicated or out-of-order message',
    pass: problems.length === 0,
    detail: problems.length === 0 ? `${ok} messages received intact and in order` : some(problems),
  };
}

function recovery({ clients, faults, recoveryBoundMs }: GradeInput): Grade {
  const problems: string[] = [];
  for (const f of faults) {
    if (f.recoveryMs === null)
      problems.push(
        `after ${f.specs.join(' + ')} at ${(f.atMs / 1000).toFixed(1)} s: not back within ${recoveryBoundMs} ms: ${f.notBack.join(', ')}`,
      );
  }
  let longest = 0;
  for (const c of clients) {
    for (const o of c.ledger.outages) {
      if (o.to === undefined) {
        problems.push(`${c.name} still down at the end (since ${new Date(o.from).toISOString()})`);
        continue;
      }
      longest = Math.max(longest, o.to - o.from);
      if (o.to - o.from > recoveryBoundMs) problems.push(`${c.name} was down ${o.to - o.from} ms`);
    }
  }
  const times = faults
    .map((f) => f.recoveryMs)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const p = (q: number) => (times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))]! : 0);
  return {
    name: `every client back (conack) within ${recoveryBoundMs / 1000} s of each fault`,
    pass: problems.length === 0,
    detail:
      problems.length === 0
        ? `${faults.length} fault bursts; recovery median ${p(0.5)} ms, max ${times[times.length - 1] ?? 0} ms; longest outage ${longest} ms`
        : some(problems),
  };
}

function memory({ rss, rssLimitBytes }: GradeInput): Grade {
  const growth = rss.peak - rss.baseline;
  return {
    name: `RSS bounded (peak after warm-up at most ${rssLimitBytes / MB} MB above the warm-up level)`,
    pass: growth <= rssLimitBytes,
    detail: `warm-up ${(rss.baseline / MB).toFixed(1)} MB, peak ${(rss.peak / MB).toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth / MB).toFixed(1)} MB)`,
  };
}

function unhandled({ unhandled: list }: GradeInput): Grade {
  return {
    name: 'no unhandled error or rejection',
    pass: list.length === 0,
    detail: list.length === 0 ? 'none' : some(list),
  };
}
