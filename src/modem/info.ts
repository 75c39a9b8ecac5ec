import type { AtResponse, AtSendOptions } from '../at/index.js';
import { AtCommandError } from '../at/errors.js';
import {
  parseCesq,
  parseCgatt,
  parseCops,
  parseCpin,
  parseCsq,
  parseDigits,
  parseFirmware,
  parseIpv4,
  parseModel,
  parseRegistration,
  type Registration,
  type SignalInfo,
} from './parse.js';

/** What `modem.info()` reports. Fields the module did not answer are undefined. */
export interface ModemInfo {
  /** Firmware revision (`ATI`, else `AT+CGMR`), e.g. `AirM2M_780E_V1162_LTE_AT`. */
  firmware: string | undefined;
  /** Model (`AT+CGMM`). */
  model: string | undefined;
  /** IMEI (`AT+CGSN`). */
  imei: string | undefined;
  /** SIM card number (`AT+ICCID`, else `AT+CCID`). */
  iccid: string | undefined;
  /** Subscriber identity (`AT+CIMI`). */
  imsi: string | undefined;
  /** Signal strength (`AT+CSQ`, `AT+CESQ`). */
  signal: SignalInfo | undefined;
  /** Network registration (`AT+CEREG?`, then CGREG/CREG). */
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
    parseDigits((await optional(send, 'AT+ICCID')) ?? [], 18, 22) ??
    parseDigits((await optional(send, 'AT+CCID')) ?? [], 18, 22);
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

/** Fields of a {@link ModuleReport} that can be unavailable. */
export type ReportField =
  | 'firmware'
  | 'model'
  | 'imei'
  | 'sim'
  | 'iccid'
  | 'imsi'
  | 'signal'
  | 'registration'
  | 'operator'
  | 'ipAddress';

/**
 * What a module that answers AT can tell, whatever its state: {@link ModemInfo} plus the SIM
 * status, and for every field that has no value the reason in words (`unavailable`).
 */
export interface ModuleReport extends ModemInfo {
  /** `AT+CPIN?` status (`READY`, `SIM PIN`, `SIM PUK`, ...), undefined when the module has no SIM. */
  sim: string | undefined;
  /** `CIFSR` (the socket bearer's address) or `CGPADDR` (the network's default bearer, when the socket bearer is not active). */
  ipSource: 'CIFSR' | 'CGPADDR' | undefined;
  /** Why a field has no value, e.g. `sim: 'not inserted (+CME ERROR: 10)'`. */
  unavailable: Partial<Record<ReportField, string>>;
}

/** The SIM states of `AT+CPIN?` in words. */
const SIM_WORDS: Record<string, string> = {
  'SIM PIN': 'locked: PIN required',
  'SIM PIN2': 'locked: PIN2 required',
  'SIM PUK': 'locked: PUK required',
  'SIM PUK2': 'locked: PUK2 required',
  'SIM REMOVED': 'not inserted',
  'NOT INSERTED': 'not inserted',
};

/** The SIM problem a `+CME ERROR` stands for, in words. */
function simCme(err: AtCommandError): string {
  const what =
    err.cme === 10
      ? 'not inserted'
      : err.cme === 11
        ? 'locked: PIN required'
        : err.cme === 12
          ? 'locked: PUK required'
          : err.cme === 13
            ? 'failure'
            : err.cme === 14
              ? 'busy (still starting)'
              : (err.meaning ?? 'not usable');
  return `${what} (${err.final})`;
}

/** The reason a command failed, as `+CME ERROR: 10 (SIM not inserted)` or `ERROR`. */
function refusal(err: AtCommandError): string {
  return err.meaning && err.cme !== undefined ? `${err.final} (${err.meaning})` : err.final;
}

/**
 * Ask a module that answers AT for everything it can report, without bringing anything up: no
 * SIM, a locked SIM, no coverage or an inactive bearer leave the fields that depend on them
 * undefined with the reason in `unavailable`. Only a failure of the channel itself (timeout,
 * closed port) rejects.
 */
export async function readReport(send: Send): Promise<ModuleReport> {
  const unavailable: ModuleReport['unavailable'] = {};
  /** Lines of a command, or undefined with the refusal noted for `field`. */
  const ask = async (command: string, field?: ReportField): Promise<string[] | undefined> => {
    try {
      return (await send(command)).lines;
    } catch (err) {
      if (!(err instanceof AtCommandError)) throw err;
      if (field) unavailable[field] ??= `${command} refused: ${refusal(err)}`;
      return undefined;
    }
  };

  const ati = await ask('ATI');
  const firmware = (ati && parseFirmware(ati)) ?? parseFirmware((await ask('AT+CGMR', 'firmware')) ?? []);
  const model = parseModel((await ask('AT+CGMM', 'model')) ?? []);
  const imei = parseDigits((await ask('AT+CGSN', 'imei')) ?? [], 14, 17);
  if (!firmware) unavailable.firmware ??= 'not reported';
  if (!model) unavailable.model ??= 'not reported';
  if (!imei) unavailable.imei ??= 'not reported';

  let sim: string | undefined;
  let simProblem: string | undefined;
  try {
    sim = (await send('AT+CPIN?')).lines.map(parseCpin).find((x) => x !== undefined);
    if (sim === undefined) simProblem = 'no +CPIN status in the answer';
    else if (sim !== 'READY') simProblem = `${SIM_WORDS[sim] ?? sim.toLowerCase()} (+CPIN: ${sim})`;
  } catch (err) {
    if (!(err instanceof AtCommandError)) throw err;
    simProblem = simCme(err);
  }
  if (simProblem) unavailable.sim = simProblem;
  if (sim === 'REMOVED' || sim === 'SIM REMOVED' || sim === 'NOT INSERTED') sim = undefined;

  // ICCID is readable from a locked SIM; IMSI is not. Their own refusal is the better reason.
  const iccid =
    parseDigits((await ask('AT+ICCID')) ?? [], 18, 22) ?? parseDigits((await ask('AT+CCID', 'iccid')) ?? [], 18, 22);
  if (!iccid) unavailable.iccid ??= simProblem ? `SIM ${simProblem}` : 'not reported';
  const imsi = parseDigits((await ask('AT+CIMI', 'imsi')) ?? [], 14, 15);
  if (!imsi) unavailable.imsi = simProblem ? `SIM ${simProblem}` : (unavailable.imsi ?? 'not reported');

  const csq = ((await ask('AT+CSQ', 'signal')) ?? []).map(parseCsq).find((x) => x !== undefined);
  const cesq = ((await ask('AT+CESQ')) ?? []).map(parseCesq).find((x) => x !== undefined);
  const signal = csq ? { ...csq, ...(cesq ?? {}) } : undefined;
  if (!signal) unavailable.signal ??= 'not reported';

  let registration: Registration | undefined;
  for (const c of ['AT+CEREG?', 'AT+CGREG?', 'AT+CREG?']) {
    const reg = ((await ask(c)) ?? []).map(parseRegistration).find((x) => x !== undefined);
    if (reg && (reg.registered || !registration)) registration = reg;
    if (registration?.registered) break;
  }
  const registered = registration?.registered === true;
  if (!registration) unavailable.registration = 'not reported';
  else if (!registered)
    unavailable.registration = registration.text.replace('-', ' ') + (simProblem ? ': no usable SIM' : '');

  const operator = ((await ask('AT+COPS?')) ?? []).map(parseCops).find((x) => x !== undefined);
  if (!operator) unavailable.operator = registered ? 'not reported' : 'none (not registered)';

  // The socket bearer's address (AT+CIFSR) exists only after AT+CIICR; without it, the address
  // the network gave the default bearer on attach is the one the module has.
  let ipAddress: string | undefined;
  let ipSource: ModuleReport['ipSource'];
  const cifsr = await sendQuiet(send, 'AT+CIFSR');
  ipAddress = cifsr && (parseIpv4(cifsr.final) ?? cifsr.lines.map(parseIpv4).find((x) => x !== undefined));
  if (ipAddress) ipSource = 'CIFSR';
  else if (registered) {
    const attached = ((await ask('AT+CGATT?')) ?? []).map(parseCgatt).find((x) => x !== undefined);
    if (attached) {
      const line = ((await ask('AT+CGPADDR=1')) ?? []).find((l) => /^\+CGPADDR:/.test(l));
      const m = line ? /"([\d.]+)"/.exec(line) : null;
      ipAddress = m ? parseIpv4(m[1]!) : undefined;
      if (ipAddress && ipAddress !== '0.0.0.0') ipSource = 'CGPADDR';
      else ipAddress = undefined;
    }
  }
  if (!ipAddress) unavailable.ipAddress = registered ? 'none (bearer not active)' : 'none (not registered)';

  return { firmware, model, imei, iccid, imsi, sim, signal, registration, operator, ipAddress, ipSource, unavailable };
}

/** The response, or undefined when the module refused the command. */
async function sendQuiet(send: Send, command: string): Promise<AtResponse | undefined> {
  try {
    return await send(command);
  } catch (err) {
    if (err instanceof AtCommandError) return undefined;
    throw err;
  }
}
