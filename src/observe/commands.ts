/**
 * The command names statistics and metrics are kept by. A fixed set, so a label can never carry
 * a host, a password or anything else a command's arguments hold, and metric cardinality stays
 * bounded: anything else counts as `other`.
 */
import { commandName } from '../at/index.js';

/** Every name {@link commandLabel} can return. */
export const COMMAND_LABELS = [
  'AT',
  'ATE',
  'ATI',
  'ATZ',
  '&W',
  'CMEE',
  'CFUN',
  'RESET',
  'IPR',
  'IFC',
  'CGMR',
  'CGMM',
  'CGSN',
  'ICCID',
  'CCID',
  'CIMI',
  'CPIN',
  'CSQ',
  'CESQ',
  'CREG',
  'CGREG',
  'CEREG',
  'COPS',
  'CGATT',
  'CGDCONT',
  'CGACT',
  'CGPADDR',
  'CSTT',
  'CIICR',
  'CIFSR',
  'CIPSHUT',
  'CIPSTATUS',
  'CIPMUX',
  'CIPQSEND',
  'CIPHEAD',
  'CIPRXGET',
  'CIPSTART',
  'CIPSEND',
  'CIPCLOSE',
  'CIPACK',
  'CIPSSL',
  'SSLCFG',
  'CIPSRIP',
  'CDNSGIP',
  'RNDISCALL',
  'other',
] as const;

/** A name from {@link COMMAND_LABELS}. */
export type CommandLabel = (typeof COMMAND_LABELS)[number];

const KNOWN = new Set<string>(COMMAND_LABELS);

/** `AT+CIPSEND=0,1460` → `CIPSEND`, `ATE0` → `ATE`, `AT` → `AT`; anything unlisted → `other`. */
export function commandLabel(command: string): CommandLabel {
  const raw = commandName(command);
  if (raw === '') return 'AT';
  const name = raw.replace(/^[+^]/, '');
  if (/^[EIZ]$/.test(name)) return `AT${name}` as CommandLabel;
  return (KNOWN.has(name) ? name : 'other') as CommandLabel;
}
