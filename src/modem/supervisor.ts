import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import type { AtChannel } from '../at/index.js';
import { bringUp, syncAt, type BringUpOptions, type ProgressEvent } from './bringup.js';
import { ModemResetError } from './errors.js';
import { sleep } from '../at/wait.js';

const debug = createDebug('air780:modem:supervisor');

/** Supervision states. */
export type ModemState = 'opening' | 'syncing' | 'registering' | 'attaching' | 'online' | 'recovering' | 'closed';

/** Why the modem went into recovery. */
export type RecoveryReason = 'reboot' | 'pdp' | 'port' | 'unresponsive';

/** @internal The open options supervision reads (the modem's, with defaults filled in). */
export interface SupervisorOptions extends Omit<BringUpOptions, 'signal'> {
  recoveryBackoffMs: number;
  recoveryMaxBackoffMs: number;
  resetAfterSyncFailures: number;
  onProgress?: (p: ProgressEvent) => void;
}

/** @internal What supervision needs from the modem it keeps online. */
export interface SupervisorHost {
  readonly state: ModemState;
  setState(s: ModemState): void;
  emit(event: 'progress', p: ProgressEvent): void;
  emit(event: 'recovering', reason: RecoveryReason): void;
  /** The current AT channel (replaced by {@link attach}). */
  channel(): AtChannel;
  /** Reopen the serial port (rejects with `ERR_PORT_CLOSED` when nothing can). */
  reopenStream(): Promise<Duplex>;
  /** Put a new AT channel on a reopened port. */
  attach(stream: Duplex): void;
  /** Fail every socket and pending connect: the module's link state is gone. */
  failAll(err: Error): void;
  /** Bring-up finished with this IP address. */
  online(ip: string): void;
  close(): Promise<void>;
}

/**
 * @internal Bring-up and supervision: the initial bring-up, then recovery (once at a time) from a
 * reboot, a bearer loss, a lost port or a module that stopped answering, with back-off and hard
 * resets. Faults during recovery fold into the running attempt.
 */
export class Supervisor {
  private recovery: Promise<void> | undefined;
  private portLost = false;
  private rebootSeen = false;
  private resets = 0;

  constructor(
    private readonly host: SupervisorHost,
    private readonly opts: SupervisorOptions,
    private readonly signal: AbortSignal,
  ) {}

  /** The initial bring-up (`Modem.open`). */
  async start(): Promise<void> {
    this.rebootSeen = false;
    const r = await bringUp(this.host.channel(), this.bringUpOptions(), this.progress);
    this.host.online(r.ip);
  }

  onReboot(): void {
    debug('RDY: the module rebooted');
    this.rebootSeen = true;
    if (this.host.state === 'online') this.recover('reboot');
  }

  /** Start recovery (once; faults during recovery are folded into the running attempt). */
  recover(reason: RecoveryReason): void {
    if (this.host.state === 'closed') return;
    if (reason === 'port') this.portLost = true;
    if (this.recovery) return;
    if (this.host.state !== 'online') {
      // Initial bring-up in progress: its own commands fail; Modem.open reports it.
      return;
    }
    this.recovery = this.runRecovery(reason).finally(() => {
      this.recovery = undefined;
    });
  }

  private bringUpOptions(): BringUpOptions {
    const o = this.opts;
    return {
      rxMode: o.rxMode,
      ...(o.apn !== undefined ? { apn: o.apn } : {}),
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      syncAttempts: o.syncAttempts,
      syncIntervalMs: o.syncIntervalMs,
      simTimeoutMs: o.simTimeoutMs,
      registrationTimeoutMs: o.registrationTimeoutMs,
      attachTimeoutMs: o.attachTimeoutMs,
      pollIntervalMs: o.pollIntervalMs,
      signal: this.signal,
    };
  }

  private progress = (p: ProgressEvent): void => {
    const state: ModemState | undefined =
      p.step === 'sync' || p.step === 'echo-off' || p.step === 'errors' || p.step === 'reset'
        ? 'syncing'
        : p.step === 'radio' || p.step === 'sim' || p.step === 'register'
          ? 'registering'
          : 'attaching';
    if (this.host.state !== 'closed' && this.host.state !== state) this.host.setState(state);
    debug('progress %s: %s%s', p.step, p.message, p.attempt ? ` (#${p.attempt})` : '');
    this.opts.onProgress?.(p);
    this.host.emit('progress', p);
  };

  private async runRecovery(reason: RecoveryReason): Promise<void> {
    debug('recovering: %s', reason);
    this.host.setState('recovering');
    this.host.emit('recovering', reason);
    this.host.failAll(new ModemResetError(describeReason(reason)));
    let backoff = this.opts.recoveryBackoffMs;
    let syncFailures = 0;
    for (let attempt = 1; !this.isClosed(); attempt++) {
      try {
        if (this.portLost) await this.reopenPort();
        this.rebootSeen = false;
        try {
          await syncAt(
            this.host.channel(),
            { ...this.bringUpOptions(), syncAttempts: Math.min(this.opts.syncAttempts, 5) },
            this.progress,
          );
          syncFailures = 0;
        } catch (err) {
          if (this.portLost || this.isClosed()) throw err;
          syncFailures++;
          if (syncFailures >= this.opts.resetAfterSyncFailures) {
            syncFailures = 0;
            await this.hardReset();
          }
          throw err;
        }
        const r = await bringUp(this.host.channel(), this.bringUpOptions(), this.progress);
        if (this.rebootSeen) {
          debug('the module rebooted during bring-up: again');
          continue;
        }
        this.host.online(r.ip);
        return;
      } catch (err) {
        if (this.isClosed()) return;
        if ((err as { code?: string }).code === 'ERR_PORT_CLOSED') {
          // An injected stream without `reopen`: nothing can bring the module back.
          debug('recovery impossible: %s', (err as Error).message);
          await this.host.close();
          return;
        }
        debug('recovery attempt %d failed: %s', attempt, (err as Error).message);
        // Cut short by close() (the lifetime signal): a pending timer would keep the process alive.
        await sleep(backoff, this.signal).catch(() => undefined);
        backoff = Math.min(backoff * 2, this.opts.recoveryMaxBackoffMs);
      }
    }
  }

  private isClosed(): boolean {
    return this.host.state === 'closed';
  }

  /**
   * Written raw, past the channel's queue: a module that does not answer would never let the
   * channel's resync complete, so a queued reset would never be sent. Alternates the two forms.
   */
  private async hardReset(): Promise<void> {
    const c = this.resets++ % 2 === 0 ? 'AT+CFUN=1,1' : 'AT+RESET';
    this.progress({ step: 'reset', message: `the module does not answer: resetting it (${c})` });
    try {
      this.host.channel().writeRaw(`${c}\r`);
    } catch (err) {
      debug('%s: %s', c, (err as Error).message);
    }
  }

  private async reopenPort(): Promise<void> {
    this.host.channel().close();
    const stream = await this.host.reopenStream();
    this.portLost = false;
    this.host.attach(stream);
  }
}

function describeReason(r: RecoveryReason): string {
  switch (r) {
    case 'reboot':
      return 'the module rebooted (RDY)';
    case 'pdp':
      return 'the network deactivated the bearer (+PDP: DEACT)';
    case 'port':
      return 'the serial port closed';
    case 'unresponsive':
      return 'the module stopped answering';
  }
}
