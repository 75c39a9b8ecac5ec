import type { AtResponse, AtSendOptions } from '../at/index.js';
import { AtCommandError } from '../at/errors.js';
import {
  parseCesq,
  parseCops,
  parseCsq,
  parseDigits,
  parseFirmware,
  parseModel,
  parseRegistration,
  type Registration,
  type SignalInfo,
} from './parse.js';

/** What `modem.info()` reports. Fields the module did not answer are undefined. */
export interface ModemInfo {
  firmware: string | undefined;
  model: string | undefined;
  imei: string | undefined;
  iccid: string | undefined;
  imsi: string | undefined;
  signal: SignalInfo | undefined;
  registration: Registration | undefined;
  /** Operator name or MCC/MNC from `AT+COPS?`. */
  operator: string | undefined;
  /** Bearer IP address (AT+CIFSR at bring-up). */
  ipAddress: string | undefined;
}

type Send = (command: string, options?: AtSendOptions) => Promise<AtResponse>;

/** Lines of a command, or undefined when the module refused it (an optional command). */
async function optional(send: Send, command: string): Promise<string[] | undefined> {
  try {
    return (await send(command)).lines;
  } catch (err) {
    if (err instanceof AtCommandError) return undefined;
    throw err;
  }
}

/** @internal Ask the module for its identity and status. */
export async function readInfo(send: Send, ipAddress: string | undefined): Promise<ModemInfo> {
  const ati = await optional(send, 'ATI');
  const firmware = (ati && parseFirmware(ati)) ?? parseFirmware((await optional(send, 'AT+CGMR')) ?? []);
  const model = parseModel((await optional(send, 'AT+CGMM')) ?? []);
  const imei = parseDigits((await optional(send, 'AT+CGSN')) ?? [], 14, 17);
  const iccid =
    parseDigits((await optional(send, 'AT+ICCID')) ?? [], 18, 22) ?? parseDigits((await optional(send, 'AT+CCID')) ?? [], 18, 22);
  const imsi = parseDigits((await optional(send, 'AT+CIMI')) ?? [], 14, 15);
  const csq = ((await optional(send, 'AT+CSQ')) ?? []).map(parseCsq).find((x) => x !== undefined);
  const cesq = ((await optional(send, 'AT+CESQ')) ?? []).map(parseCesq).find((x) => x !== undefined);
  const signal = csq ? { ...csq, ...(cesq ?? {}) } : undefined;
  let registration: Registration | undefined;
  for (const c of ['AT+CEREG?', 'AT+CGREG?', 'AT+CREG?']) {
    const reg = ((await optional(send, c)) ?? []).map(parseRegistration).find((x) => x !== undefined);
    if (reg && (reg.registered || !registration)) registration = reg;
    if (registration?.registered) break;
  }
  const operator = ((await optional(send, 'AT+COPS?')) ?? []).map(parseCops).find((x) => x !== undefined);
  return { firmware, model, imei, iccid, imsi, signal, registration, operator, ipAddress };
}
