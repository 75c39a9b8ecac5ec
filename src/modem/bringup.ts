import createDebug from 'debug';
import type { AtChannel } from '../at/index.js';
import { AtAbandonedError } from '../at/errors.js';
import { atString } from '../at/args.js';
import { runScript, type AtScript, type LastAnswer, type ScriptStep } from '../at/script.js';
import { BringUpError, SimAbsentError, SimLockedError } from './errors.js';
import { parseCpin, parseIpv4, parseRegistration, type Registration } from './parse.js';

const debug = createDebug('air780:modem:bringup');

/** A step of bring-up, reported as it starts (for a CLI progress display). */
export interface ProgressEvent {
  step: 'sync' | 'echo-off' | 'errors' | 'radio' | 'sim' | 'register' | 'attach' | 'bearer' | 'ip' | 'reset';
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

type Step = ScriptStep<ProgressEvent>;

/** `AT` until `OK`, tolerating boot garbage (ERROR), echo, a module still booting (no answer) and `RDY`. */
export function syncStep(o: Pick<BringUpOptions, 'syncAttempts' | 'syncIntervalMs'>): Step {
  return {
    cmd: 'AT',
    timeoutMs: o.syncIntervalMs,
    progress: { step: 'sync', message: 'waiting for the module to answer AT' },
    refused: { other: 'again' },
    timedOut: 'again',
    abandoned: 'again',
    // After a garbled line's ERROR, a short pause lets the module's input clear.
    poll: {
      everyMs: Math.min(200, o.syncIntervalMs),
      attempts: o.syncAttempts,
      gaveUp: (last) =>
        new BringUpError(
          'ERR_NO_RESPONSE',
          `the module did not answer AT after ${o.syncAttempts} attempts; check power, the port (USB interface 4 is the log port) and the baud rate`,
          { cause: last.error },
        ),
    },
  };
}

/** Echo off: answers are then only answers. */
export const ECHO_OFF: Step = { cmd: 'ATE0', progress: { step: 'echo-off', message: 'ATE0' } };

/** Numeric `+CME ERROR: <n>`, which the SIM and socket steps tell apart. */
export const NUMERIC_ERRORS: Step = { cmd: 'AT+CMEE=1', progress: { step: 'errors', message: 'AT+CMEE=1' } };

/** A radio left off (`AT+CFUN=0`, or flight mode 4) never registers: turn it on. */
const RADIO_ON: Step = {
  onlyIf: { cmd: 'AT+CFUN?', answer: /^\+CFUN:\s*[04]\b/ },
  cmd: 'AT+CFUN=1',
  progress: { step: 'radio', message: 'the radio is off: turning it on (AT+CFUN=1)' },
};

/** The full bring-up after sync, as the AT manual orders it (air780e-at.md §8). */
export function bringUpScript(o: BringUpOptions): { script: AtScript<ProgressEvent>; result: () => BringUpResult } {
  let registration: Registration | undefined;
  let ip: string | undefined;
  const rxget = o.rxMode === 'pull' ? 1 : 0;
  const steps: Step[] = [
    syncStep(o),
    ECHO_OFF,
    NUMERIC_ERRORS,
    RADIO_ON,
    {
      cmd: 'AT+CPIN?',
      timeoutMs: 10_000,
      progress: { step: 'sim', message: 'checking the SIM (AT+CPIN?)' },
      expect: /^\+CPIN:\s*READY\s*$/,
      abort: [
        [/^\+CPIN:\s*SIM PIN2?\s*$/, () => new SimLockedError('pin')],
        [/^\+CPIN:\s*SIM PUK2?\s*$/, () => new SimLockedError('puk')],
        [/^\+CPIN:\s*(SIM REMOVED|NOT INSERTED)\s*$/, () => new SimAbsentError()],
      ],
      // 13/14 (SIM failure/busy) come right after boot: ask again within the deadline.
      refused: {
        10: () => new SimAbsentError(),
        11: () => new SimLockedError('pin'),
        12: () => new SimLockedError('puk'),
        other: 'again',
      },
      poll: {
        everyMs: o.pollIntervalMs,
        withinMs: o.simTimeoutMs,
        gaveUp: (last) =>
          new BringUpError(
            'ERR_SIM_NOT_READY',
            `the SIM did not become ready (last status ${simStatus(last)}); reseat the SIM`,
          ),
      },
    },
    {
      // LTE first. Some firmware answers AT+CEREG? with +CGREG (any of the three forms is read); a
      // form the firmware refuses is skipped.
      cmd: ['AT+CEREG?', 'AT+CGREG?', 'AT+CREG?'],
      progress: { step: 'register', message: 'waiting for network registration' },
      expect: (l) => registered(l),
      capture: (r) => (registration = r as Registration),
      abort: [
        [
          (l) => parseRegistration(l)?.text === 'denied',
          () =>
            new BringUpError(
              'ERR_REGISTRATION_DENIED',
              'the network denied registration; check that the SIM is active and has a data plan',
            ),
        ],
      ],
      pending: parseRegistration,
      refused: { other: 'again' },
      poll: {
        everyMs: o.pollIntervalMs,
        withinMs: o.registrationTimeoutMs,
        gaveUp: (last) =>
          new BringUpError(
            'ERR_NOT_REGISTERED',
            `not registered after ${o.registrationTimeoutMs} ms (last: ${lastRegistration(last)}); check the antenna and coverage`,
          ),
      },
    },
    {
      cmd: 'AT+CGATT?',
      timeoutMs: 10_000,
      progress: { step: 'attach', message: 'waiting for packet-domain attach (AT+CGATT?)' },
      expect: /^\+CGATT:\s*1\b/,
      poll: {
        everyMs: o.pollIntervalMs,
        withinMs: o.attachTimeoutMs,
        gaveUp: () =>
          new BringUpError('ERR_NOT_ATTACHED', `not attached after ${o.attachTimeoutMs} ms; check the SIM's data plan`),
      },
    },
    {
      cmd: 'AT+CIPSHUT',
      timeoutMs: 90_000,
      progress: { step: 'bearer', message: 'resetting the IP stack (AT+CIPSHUT)' },
    },
    { cmd: 'AT+CIPMUX=1' },
    {
      cmd: 'AT+CIPMUX?',
      expect: /^\+CIPMUX:\s*1\b/,
      otherwise: (lines) =>
        new BringUpError(
          'ERR_BEARER',
          `AT+CIPMUX=1 did not stick (read back ${JSON.stringify(lines)}); a link may still be open, power-cycle the module`,
        ),
    },
    { cmd: 'AT+CIPQSEND=1' },
    // CIPRXF=0: the module follows each received block with CRLF, which lets the AT scanner tell a
    // block whose length and bytes disagree (line noise) from a good one (docs/layers.md).
    { cmd: 'AT+CIPRXF=0' },
    { cmd: `AT+CIPRXGET=${rxget}` },
    {
      cmd: 'AT+CIPRXGET?',
      expect: new RegExp(`^\\+CIPRXGET:\\s*${rxget}(?!\\d)`),
      otherwise: (lines) =>
        new BringUpError(
          'ERR_BEARER',
          `the receive mode did not stick (AT+CIPRXGET? answered ${JSON.stringify(lines)})`,
        ),
    },
    {
      cmd: cstt(o),
      timeoutMs: 60_000,
      progress: { step: 'bearer', message: `activating the bearer${o.apn ? ` (APN ${o.apn})` : ''}` },
    },
    { cmd: 'AT+CIICR', timeoutMs: 90_000 },
    {
      // The address is the whole answer: no OK follows it.
      cmd: 'AT+CIFSR',
      progress: { step: 'ip', message: 'reading the IP address (AT+CIFSR)' },
      expect: parseIpv4,
      capture: (a) => (ip = a as string),
      otherwise: (lines) =>
        new BringUpError('ERR_BEARER', `AT+CIFSR gave no IP address (${JSON.stringify(lines.at(-1))}); check the APN`),
    },
  ];
  return {
    script: {
      name: 'bring-up',
      steps,
      // A backstop above the steps' own bounds (sync, the three waits, CIPSHUT and CIICR 90 s,
      // CSTT 60 s, CFUN 45 s, the rest seconds): it only ends a bring-up that something stalls
      // between commands, such as the channel's resync after each timed-out sync AT.
      timeoutMs:
        o.syncAttempts * o.syncIntervalMs * 6 +
        o.simTimeoutMs +
        o.registrationTimeoutMs +
        o.attachTimeoutMs +
        6 * 60_000,
      timedOut: () =>
        new BringUpError(
          'ERR_BRINGUP_TIMEOUT',
          'bring-up did not finish within its overall bound; check the module with the AT console (air780 at)',
        ),
    },
    result: () => ({ ip: ip!, registration }),
  };
}

/** `AT+CSTT`, with the APN (and its user and password) when given; refused before anything is written if unsafe. */
function cstt(o: BringUpOptions): string {
  if (o.apn === undefined) return 'AT+CSTT';
  let c = `AT+CSTT=${atString(o.apn, { name: 'apn', maxLength: 128 })}`;
  if (o.user !== undefined || o.password !== undefined) {
    c += `,${atString(o.user ?? '', { name: 'user', maxLength: 32 })}`;
    c += `,${atString(o.password ?? '', { name: 'password', maxLength: 32 })}`;
  }
  return c;
}

function registered(line: string): Registration | undefined {
  const r = parseRegistration(line);
  return r?.registered ? r : undefined;
}

function simStatus(last: LastAnswer): string {
  return last.lines.map(parseCpin).find((x) => x !== undefined) ?? last.lines.at(-1) ?? 'none';
}

function lastRegistration(last: LastAnswer): string {
  return last.lines.map(parseRegistration).find((x) => x !== undefined)?.text ?? 'no answer';
}

/** `AT` until `OK` (the sync step alone). */
export async function syncAt(
  at: AtChannel,
  opts: Pick<BringUpOptions, 'syncAttempts' | 'syncIntervalMs' | 'signal'>,
  progress: (p: ProgressEvent) => void,
): Promise<void> {
  const script: AtScript<ProgressEvent> = {
    name: 'sync',
    steps: [syncStep(opts)],
    timeoutMs: opts.syncAttempts * opts.syncIntervalMs * 6 + 10_000,
  };
  await runScript(at, script, { ...(opts.signal ? { signal: opts.signal } : {}), onProgress: progress });
}

/** Starts over after `RDY` at most this often, so a module in a reboot loop still fails bring-up. */
const MAX_RESTARTS = 3;

/**
 * The full bring-up: sync, echo off, numeric errors, radio, SIM, registration, attach, bearer.
 * Starts over from sync when a step is abandoned because the module said `RDY`: a real restart
 * undid the steps before it, and with autobaud on the UART the power-on `RDY` only comes after the
 * training `AT` was answered, while the next step is in flight (nothing restarted then).
 */
export async function bringUp(
  at: AtChannel,
  opts: BringUpOptions,
  progress: (p: ProgressEvent) => void,
): Promise<BringUpResult> {
  for (let restart = 0; ; restart++) {
    const { script, result } = bringUpScript(opts);
    try {
      await runScript(at, script, { ...(opts.signal ? { signal: opts.signal } : {}), onProgress: progress });
      const r = result();
      debug('online with IP %s', r.ip);
      return r;
    } catch (err) {
      if (!(err instanceof AtAbandonedError) || restart >= MAX_RESTARTS || opts.signal?.aborted) throw err;
      debug('bring-up starts over: %s', err.message);
    }
  }
}
