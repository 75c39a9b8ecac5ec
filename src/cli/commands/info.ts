/**
 * `air780 info`: identity, SIM, signal, registration, operator, IP. Needs only a module that
 * answers AT: no SIM, a locked SIM or no coverage are reported, not waited for.
 */
import { readReport, type ModuleReport } from '../../modem/info.js';
import { bool, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, PORT_FLAGS, type Command } from '../command.js';
import { barGlyphs, short } from '../format.js';
import type { Io } from '../io.js';
import { openAtSession } from '../module.js';

export const command: Command = {
  spec: {
    name: 'info',
    summary: 'Show firmware, model, IMEI, ICCID, IMSI, signal (with bars), registration, operator and IP.',
    flags: [...PORT_FLAGS, { name: 'json', type: 'boolean', description: 'print the information as JSON (missing fields explained in "unavailable")' }, ...GLOBAL_FLAGS],
    details: [
      'Only AT is needed: nothing is brought up (no registration wait, no bearer), so this works on a',
      'module with no SIM, a locked SIM or no coverage; what it cannot tell is shown with the reason,',
      'e.g. "SIM  not inserted (+CME ERROR: 10)". IP is the socket bearer\'s (AT+CIFSR) or, when that is',
      'not active, the one the network gave on attach (AT+CGPADDR).',
      'Exit status: 0 when the module answered AT (whatever its SIM or network state), 1 when it did not.',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const s = await openAtSession(args.flags, io);
    try {
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
    else if (key === 'registration' && r.registration && !r.registration.registered) text = `${r.unavailable.registration ?? r.registration.text} ${formatRegistration(r.registration).replace(/^\S+ /, '')}`;
    else if (v === undefined) text = r.unavailable[key] ?? 'not reported';
    else if (key === 'signal') text = formatSignal(v);
    else if (key === 'registration') text = formatRegistration(v);
    else text = short(v);
    lines.push(`${label.padEnd(13)}${text}`);
  }
  return lines.join('\n') + '\n';
}

function formatSignal(s: unknown): string {
  if (!s || typeof s !== 'object') return short(s);
  const sig = s as { rssi?: number; dbm?: number; bars?: number; rsrpDbm?: number; rsrqDb?: number };
  // CSQ 99: the module does not know (no SIM, no cell, radio off), which is not the same as 0 bars.
  const parts = [sig.dbm === undefined && sig.rssi === 99 ? 'unknown' : `${barGlyphs(sig.bars ?? 0)} ${sig.bars ?? 0}/5`];
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
