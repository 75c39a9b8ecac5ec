import createDebug from 'debug';
import type { AtChannel, AtResponse, AtSendOptions } from '../at/index.js';
import { AtAbandonedError, AtCommandError, AtTimeoutError } from '../at/errors.js';
import { atString } from '../at/args.js';
import { BringUpError, SimAbsentError, SimLockedError } from './errors.js';
import { parseCgatt, parseCpin, parseIpv4, parseRegistration, type Registration } from './parse.js';

const debug = createDebug('air780:modem:bringup');

/** A step of bring-up, reported as it starts (for a CLI progress display). */
export interface ProgressEvent {
  step: 'sync' | 'echo-off' | 'errors' | 'sim' | 'register' | 'attach' | 'bearer' | 'ip' | 'reset';
  message: string;
  attempt?: number;
}

/** Knobs for bring-up; every wait is bounded by one of these. */
export interface BringUpOptions {
  apn?: string;
  user?: string;
  password?: string;
  rxMode: 'push' | 'pull';
  /** `AT` attempts before sync gives up (each waits `syncIntervalMs`). */
  syncAttempts: number;
  syncIntervalMs: number;
  simTimeoutMs: number;
  registrationTimeoutMs: number;
  attachTimeoutMs: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
}

export interface BringUpResult {
  ip: string;
  registration: Registration | undefined;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `AT` until `OK`, tolerating boot garbage, echo and a module that is still booting. */
export async function syncAt(at: AtChannel, opts: Pick<BringUpOptions, 'syncAttempts' | 'syncIntervalMs' | 'signal'>, progress: (p: ProgressEvent) => void): Promise<void> {
  let last: unknown;
  for (let attempt = 1; attempt <= opts.syncAttempts; attempt++) {
    progress({ step: 'sync', message: 'waiting for the module to answer AT', attempt });
    try {
      await at.send('AT', { timeoutMs: opts.syncIntervalMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      return;
    } catch (err) {
      last = err;
      if (opts.signal?.aborted) throw err;
      // A booting module says RDY while an `AT` waits: that `AT` is abandoned, the next one answered.
      if (!(err instanceof AtTimeoutError) && !(err instanceof AtCommandError) && !(err instanceof AtAbandonedError)) throw err;
      // A garbled line gives ERROR: pause briefly so the module's input is clean again.
      if (err instanceof AtCommandError) await sleep(Math.min(200, opts.syncIntervalMs), opts.signal);
    }
  }
  throw new BringUpError('ERR_NO_RESPONSE', `the module did not answer AT after ${opts.syncAttempts} attempts; check power, the port (USB interface 4 is the log port) and the baud rate`, { cause: last });
}

/** Starts over after `RDY` at most this often, so a module in a reboot loop still fails bring-up. */
const MAX_RESTARTS = 3;

/**
 * The full bring-up after sync: echo off, numeric errors, SIM, registration, attach, bearer.
 * Starts over from sync when a step is abandoned because the module said `RDY`: a real restart
 * undid the steps before it, and with autobaud on the UART the power-on `RDY` only comes after the
 * training `AT` was answered, while the next step is in flight (nothing restarted then).
 */
export async function bringUp(at: AtChannel, opts: BringUpOptions, progress: (p: ProgressEvent) => void): Promise<BringUpResult> {
  for (let restart = 0; ; restart++) {
    try {
      return await bringUpOnce(at, opts, progress);
    } catch (err) {
      if (!(err instanceof AtAbandonedError) || restart >= MAX_RESTARTS || opts.signal?.aborted) throw err;
      debug('bring-up starts over: %s', err.message);
    }
  }
}

async function bringUpOnce(at: AtChannel, opts: BringUpOptions, progress: (p: ProgressEvent) => void): Promise<BringUpResult> {
  const signal = opts.signal;
  const send = (command: string, o: AtSendOptions = {}): Promise<AtResponse> => at.send(command, signal ? { ...o, signal } : o);

  await syncAt(at, opts, progress);
  progress({ step: 'echo-off', message: 'ATE0' });
  await send('ATE0');
  progress({ step: 'errors', message: 'AT+CMEE=1' });
  await send('AT+CMEE=1');

  await checkSim(send, opts, progress);
  const registration = await waitRegistered(send, opts, progress);
  await waitAttached(send, opts, progress);

  progress({ step: 'bearer', message: 'resetting the IP stack (AT+CIPSHUT)' });
  await send('AT+CIPSHUT', { timeoutMs: 90_000 });
  await send('AT+CIPMUX=1');
  const mux = await send('AT+CIPMUX?');
  if (!mux.lines.some((l) => /^\+CIPMUX:\s*1\b/.test(l))) {
    throw new BringUpError('ERR_BEARER', `AT+CIPMUX=1 did not stick (read back ${JSON.stringify(mux.lines)}); a link may still be open, power-cycle the module`);
  }
  await send('AT+CIPQSEND=1');
  await send('AT+CIPRXF=1');
  const rxget = opts.rxMode === 'pull' ? 1 : 0;
  await send(`AT+CIPRXGET=${rxget}`);
  const rxBack = await send('AT+CIPRXGET?');
  const rxLine = rxBack.lines.find((l) => /^\+CIPRXGET:\s*\d/.test(l));
  if (!rxLine || Number(/(\d+)/.exec(rxLine)![1]) !== rxget) {
    throw new BringUpError('ERR_BEARER', `the receive mode did not stick (AT+CIPRXGET? answered ${JSON.stringify(rxBack.lines)})`);
  }

  progress({ step: 'bearer', message: `activating the bearer${opts.apn ? ` (APN ${opts.apn})` : ''}` });
  let cstt = 'AT+CSTT';
  if (opts.apn !== undefined) {
    cstt += '=' + atString(opts.apn, { name: 'apn', maxLength: 128 });
    if (opts.user !== undefined || opts.password !== undefined) {
      cstt += ',' + atString(opts.user ?? '', { name: 'user', maxLength: 32 });
      cstt += ',' + atString(opts.password ?? '', { name: 'password', maxLength: 32 });
    }
  }
  await send(cstt, { timeoutMs: 60_000 });
  await send('AT+CIICR', { timeoutMs: 90_000 });
  progress({ step: 'ip', message: 'reading the IP address (AT+CIFSR)' });
  const ifs = await send('AT+CIFSR');
  const ip = parseIpv4(ifs.final) ?? ifs.lines.map(parseIpv4).find((x) => x !== undefined);
  if (!ip) throw new BringUpError('ERR_BEARER', `AT+CIFSR gave no IP address (${JSON.stringify(ifs.final)}); check the APN`);
  debug('online with IP %s', ip);
  return { ip, registration };
}

type Send = (command: string, o?: AtSendOptions) => Promise<AtResponse>;

async function checkSim(send: Send, opts: BringUpOptions, progress: (p: ProgressEvent) => void): Promise<void> {
  const deadline = performance.now() + opts.simTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    progress({ step: 'sim', message: 'checking the SIM (AT+CPIN?)', attempt });
    let status: string | undefined;
    try {
      const r = await send('AT+CPIN?', { timeoutMs: 10_000 });
      status = r.lines.map(parseCpin).find((x) => x !== undefined);
    } catch (err) {
      if (err instanceof AtCommandError && err.cme === 10) throw new SimAbsentError();
      if (err instanceof AtCommandError && err.cme === 11) throw new SimLockedError('pin');
      if (err instanceof AtCommandError && err.cme === 12) throw new SimLockedError('puk');
      // 13/14 (SIM failure/busy) happen right after boot: retry within the deadline.
      if (!(err instanceof AtCommandError)) throw err;
      status = `CME ${err.cme ?? err.final}`;
    }
    if (status === 'READY') return;
    if (status === 'SIM PIN' || status === 'SIM PIN2') throw new SimLockedError('pin');
    if (status === 'SIM PUK' || status === 'SIM PUK2') throw new SimLockedError('puk');
    if (status === 'SIM REMOVED' || status === 'NOT INSERTED') throw new SimAbsentError();
    if (performance.now() >= deadline) throw new BringUpError('ERR_SIM_NOT_READY', `the SIM did not become ready (last status ${status ?? 'none'}); reseat the SIM`);
    await sleep(opts.pollIntervalMs, opts.signal);
  }
}

async function queryRegistration(send: Send): Promise<Registration | undefined> {
  let best: Registration | undefined;
  for (const cmd of ['AT+CEREG?', 'AT+CGREG?', 'AT+CREG?']) {
    try {
      const r = await send(cmd);
      const reg = r.lines.map(parseRegistration).find((x) => x !== undefined);
      if (reg?.registered) return reg;
      best ??= reg;
    } catch (err) {
      if (!(err instanceof AtCommandError)) throw err;
    }
  }
  return best;
}

async function waitRegistered(send: Send, opts: BringUpOptions, progress: (p: ProgressEvent) => void): Promise<Registration | undefined> {
  const deadline = performance.now() + opts.registrationTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    progress({ step: 'register', message: 'waiting for network registration', attempt });
    const reg = await queryRegistration(send);
    if (reg?.registered) return reg;
    if (reg?.text === 'denied') throw new BringUpError('ERR_REGISTRATION_DENIED', 'the network denied registration; check that the SIM is active and has a data plan');
    if (performance.now() >= deadline) {
      throw new BringUpError('ERR_NOT_REGISTERED', `not registered after ${opts.registrationTimeoutMs} ms (last: ${reg?.text ?? 'no answer'}); check the antenna and coverage`);
    }
    await sleep(opts.pollIntervalMs, opts.signal);
  }
}

async function waitAttached(send: Send, opts: BringUpOptions, progress: (p: ProgressEvent) => void): Promise<void> {
  const deadline = performance.now() + opts.attachTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    progress({ step: 'attach', message: 'waiting for packet-domain attach (AT+CGATT?)', attempt });
    const r = await send('AT+CGATT?', { timeoutMs: 10_000 });
    if (r.lines.map(parseCgatt).find((x) => x !== undefined)) return;
    if (performance.now() >= deadline) throw new BringUpError('ERR_NOT_ATTACHED', `not attached after ${opts.attachTimeoutMs} ms; check the SIM's data plan`);
    await sleep(opts.pollIntervalMs, opts.signal);
  }
}
