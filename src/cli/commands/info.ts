/**
 * `air780 info`: identity, SIM, signal, registration, operator, IP. Needs only a module that
 * answers AT: no SIM, a locked SIM or no coverage are reported, not waited for.
 */
import type { AtChannel } from '../../at/index.js';
import { readReport, type ModuleReport } from '../../modem/info.js';
import { maskIdentity } from '../../observe/mask.js';
import { bool, type ParsedArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { GLOBAL_FLAGS, PORT_FLAGS, type Command } from '../command.js';
import { barGlyphs, short } from '../format.js';
import type { Io } from '../io.js';
import { openAtSession } from '../module.js';

export const command: Command = {
  spec: {
    name: 'info',
    summary: 'Show firmware, model, IMEI, ICCID, IMSI, signal (with bars), registration, operator and IP.',
    flags: [
      ...PORT_FLAGS,
      {
        name: 'json',
        type: 'boolean',
        description: 'print the information as JSON (missing fields explained in "unavailable")',
      },
      {
        name: 'watch',
        type: 'boolean',
        description: 'refresh every [seconds] (default 2) until Ctrl-C; with --json one JSON line per refresh',
      },
      ...GLOBAL_FLAGS,
    ],
    positionals: [
      {
        name: 'seconds',
        required: false,
        description: 'with --watch: seconds between refreshes (0.5-3600, default 2)',
      },
    ],
    details: [
      'Only AT is needed: nothing is brought up (no registration wait, no bearer), so this works on a',
      'module with no SIM, a locked SIM or no coverage; what it cannot tell is shown with the reason,',
      'e.g. "SIM  not inserted (+CME ERROR: 10)". IP is the socket bearer\'s (AT+CIFSR) or, when that is',
      'not active, the one the network gave on attach (AT+CGPADDR).',
      'Exit status: 0 when the module answered AT (whatever its SIM or network state), 1 when it did not.',
      '--watch [S] refreshes the view every S seconds (a terminal is cleared first), with the serial',
      'bytes each way and the signal trend, for a user on SSH; Ctrl-C ends it with status 0.',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const watch = bool(args.flags, 'watch');
    const seconds = watchSeconds(watch, args.positionals[0]);
    const s = await openAtSession(args.flags, io);
    try {
      if (watch) return await watchReport(s.at, seconds, bool(args.flags, 'json'), io);
      const report = await readReport((c, o) => s.at.send(c, o));
      if (bool(args.flags, 'json')) {
        io.out(`${JSON.stringify(report, null, 2)}\n`);
        return 0;
      }
      io.out(formatReport(report));
      return 0;
    } finally {
      await s.close();
    }
  },
};

/** `[seconds]` as given with --watch. */
function watchSeconds(watch: boolean, given: string | undefined): number {
  if (given === undefined) return 2;
  const n = Number(given);
  if (!watch) throw new UsageError(`unexpected argument '${given}' (seconds go with --watch)`);
  if (!(Number.isFinite(n) && n >= 0.5 && n <= 3600))
    throw new UsageError(`--watch takes seconds between 0.5 and 3600, got '${given}'`);
  return n;
}

/** Signal readings shown as a trend in the watch view. */
const TREND_LENGTH = 20;
const SPARK = '▁▂▃▄▅▆▇█';

/**
 * The report every `seconds` until Ctrl-C. A terminal is cleared before each view; a pipe gets the
 * views one after another. A module that stops answering is reported and asked again; a port
 * that closes ends the watch with status 1.
 */
async function watchReport(at: AtChannel, seconds: number, json: boolean, io: Io): Promise<number> {
  const tty = !json && process.stdout.isTTY === true;
  const trend: number[] = [];
  let stop: (() => void) | undefined;
  let stopped = false;
  const onSigint = () => {
    stopped = true;
    stop?.();
  };
  process.once('SIGINT', onSigint);
  try {
    while (!stopped) {
      let view: string;
      try {
        const report = await readReport((c, o) => at.send(c, o));
        if (report.signal?.dbm !== undefined) trend.push(report.signal.dbm);
        if (trend.length > TREND_LENGTH) trend.shift();
        view = json
          ? `${JSON.stringify({ at: new Date().toISOString(), serial: { bytesIn: at.bytesIn, bytesOut: at.bytesOut }, ...report })}\n`
          : formatWatch(report, at, seconds, trend);
      } catch (err) {
        if (at.isClosed) {
          io.status(`the port closed: ${(err as Error).message}`);
          return 1;
        }
        if (stopped) break;
        view = json
          ? ''
          : `${new Date().toTimeString().slice(0, 8)}  the module did not answer (${(err as Error).message}); asking again in ${seconds} s\n`;
        io.status(`the module did not answer: ${(err as Error).message}`);
      }
      if (stopped) break;
      io.out(tty ? `\x1b[H\x1b[2J${view}` : view + (json ? '' : '\n'));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, seconds * 1000);
        stop = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The watch view: a header line, the report, serial bytes and the signal trend. */
export function formatWatch(
  r: ModuleReport,
  at: { bytesIn: number; bytesOut: number },
  seconds: number,
  trend: readonly number[],
): string {
  const head = `air780 info · every ${seconds} s · ${new Date().toTimeString().slice(0, 8)} · Ctrl-C to stop\n\n`;
  const lo = Math.min(...trend);
  const hi = Math.max(...trend);
  const spark = trend
    .map((d) => SPARK[hi === lo ? 3 : Math.round(((d - lo) / (hi - lo)) * (SPARK.length - 1))])
    .join('');
  const extra = [
    `${'Serial'.padEnd(13)}to module ${at.bytesOut} B, from module ${at.bytesIn} B`,
    `${'Signal trend'.padEnd(13)}${trend.length ? `${spark} (${lo}…${hi} dBm, last ${trend.length})` : 'no reading yet'}`,
  ];
  // A watched screen gets screenshotted and shared: the SIM's identities are masked there.
  const masked: ModuleReport = { ...r, iccid: maskIdentity(r.iccid), imsi: maskIdentity(r.imsi) };
  return `${head + formatReport(masked) + extra.join('\n')}\n`;
}

const REPORT_LABELS: [key: keyof ModuleReport['unavailable'], label: string][] = [
  ['firmware', 'Firmware'],
  ['model', 'Model'],
  ['imei', 'IMEI'],
  ['sim', 'SIM'],
  ['iccid', 'ICCID'],
  ['imsi', 'IMSI'],
  ['signal', 'Signal'],
  ['registration', 'Registration'],
  ['operator', 'Operator'],
  ['ipAddress', 'IP'],
];

/** Every field as an aligned `Label  value` line; a missing value is its reason. */
export function formatReport(r: ModuleReport): string {
  const lines: string[] = [];
  for (const [key, label] of REPORT_LABELS) {
    const v = r[key];
    let text: string;
    if (key === 'sim') text = r.unavailable.sim ?? (r.sim === 'READY' ? 'ready' : short(r.sim));
    else if (key === 'registration' && r.registration && !r.registration.registered)
      text = `${r.unavailable.registration ?? r.registration.text} ${formatRegistration(r.registration).replace(/^\S+ /, '')}`;
    else if (v === undefined) text = r.unavailable[key] ?? 'not reported';
    else if (key === 'signal') text = formatSignal(v);
    else if (key === 'registration') text = formatRegistration(v);
    else text = short(v);
    lines.push(`${label.padEnd(13)}${text}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatSignal(s: unknown): string {
  if (!s || typeof s !== 'object') return short(s);
  const sig = s as { rssi?: number; dbm?: number; bars?: number; rsrpDbm?: number; rsrqDb?: number };
  // CSQ 99: the module does not know (no SIM, no cell, radio off), which is not the same as 0 bars.
  const parts = [
    sig.dbm === undefined && sig.rssi === 99 ? 'unknown' : `${barGlyphs(sig.bars ?? 0)} ${sig.bars ?? 0}/5`,
  ];
  if (sig.dbm !== undefined) parts.push(`${sig.dbm} dBm`);
  if (sig.rssi !== undefined) parts.push(`(CSQ ${sig.rssi})`);
  if (sig.rsrpDbm !== undefined) parts.push(`RSRP ${sig.rsrpDbm} dBm`);
  if (sig.rsrqDb !== undefined) parts.push(`RSRQ ${sig.rsrqDb} dB`);
  return parts.join(' ');
}

function formatRegistration(r: unknown): string {
  if (!r || typeof r !== 'object') return short(r);
  const reg = r as { text?: string; stat?: number; source?: string };
  return `${reg.text ?? '?'}${reg.stat !== undefined ? ` (stat ${reg.stat}${reg.source ? `, ${reg.source}` : ''})` : ''}`;
}
