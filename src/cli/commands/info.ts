/** `air780 info`: identity, signal, registration, operator, IP. */
import { bool, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, MODULE_FLAGS, type Command } from '../command.js';
import { barGlyphs, short } from '../format.js';
import type { Io } from '../io.js';
import { openModule } from '../module.js';

export const command: Command = {
  spec: {
    name: 'info',
    summary: 'Show firmware, model, IMEI, ICCID, IMSI, signal (with bars), registration, operator and IP.',
    flags: [...MODULE_FLAGS, { name: 'json', type: 'boolean', description: 'print the information as JSON' }, ...GLOBAL_FLAGS],
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const m = await openModule(args.flags, io);
    try {
      const info = await m.modem.info();
      if (bool(args.flags, 'json')) {
        io.out(`${JSON.stringify(info, null, 2)}\n`);
        return 0;
      }
      io.out(formatInfo(info as unknown as Record<string, unknown>));
      return 0;
    } finally {
      await m.close();
    }
  },
};

const LABELS: [key: string, label: string][] = [
  ['firmware', 'Firmware'],
  ['model', 'Model'],
  ['manufacturer', 'Manufacturer'],
  ['imei', 'IMEI'],
  ['iccid', 'ICCID'],
  ['imsi', 'IMSI'],
  ['signal', 'Signal'],
  ['registration', 'Registration'],
  ['operator', 'Operator'],
  ['ipAddress', 'IP'],
  ['ip', 'IP'],
];

function formatSignal(s: unknown): string {
  if (!s || typeof s !== 'object') return short(s);
  const sig = s as { rssi?: number; dbm?: number; bars?: number; rsrpDbm?: number; rsrqDb?: number };
  const parts = [`${barGlyphs(sig.bars ?? 0)} ${sig.bars ?? 0}/5`];
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

/** The info as aligned `Label: value` lines; unknown extra fields are shown too. */
export function formatInfo(info: Record<string, unknown>): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const [key, label] of LABELS) {
    if (!(key in info)) continue;
    seen.add(key);
    const v = info[key];
    const text = key === 'signal' ? formatSignal(v) : key === 'registration' ? formatRegistration(v) : short(v);
    lines.push(`${label.padEnd(13)}${text}`);
  }
  for (const [key, v] of Object.entries(info)) {
    if (!seen.has(key)) lines.push(`${key.padEnd(13)}${short(v)}`);
  }
  return lines.join('\n') + '\n';
}
