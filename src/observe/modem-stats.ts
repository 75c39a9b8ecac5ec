/**
 * `observeModem(modem)`: what a module did, as numbers a status page or Prometheus can read.
 * Everything is collected from events the lower layers emit (the modem's 'state', 'recovering',
 * 'progress' and 'socket', the AT channel's 'result' and 'token' and its byte counters) and kept
 * in place; {@link ModemObserver.stats} builds a plain snapshot only when someone asks.
 */
import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import type { AtChannel, AtCommandResult, AtToken } from '../at/index.js';
import { AtCommandError } from '../at/errors.js';
import type { Modem, ModemState, RecoveryReason, SocketOpened } from '../modem/index.js';
import type { ModemSocket } from '../modem/socket.js';
import {
  parseCesq,
  parseCsq,
  parseDigits,
  parseFirmware,
  parseModel,
  parseRegistration,
  type Registration,
} from '../modem/parse.js';
import { commandLabel, type CommandLabel } from './commands.js';
import { maskIdentity } from './mask.js';

const debug = createDebug('air780:observe');

/** Upper bounds (seconds) of the AT round-trip histogram; the last bucket is +Inf. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Transitions kept in {@link ModemStats.state}. */
export const MAX_TRANSITIONS = 50;
/** Events kept in {@link ModemStats.events}. */
export const MAX_EVENTS = 50;
/** Closed links kept in {@link ModemStats.closedLinks}. */
export const MAX_CLOSED_LINKS = 10;
/** Signal samples kept: one hour at most, and never more than this many. */
export const MAX_SIGNAL_SAMPLES = 720;
/** The 'stats' event comes at most this often. */
export const STATS_THROTTLE_MS = 250;

/** Options of {@link observeModem}. */
export interface ObserveModemOptions {
  /**
   * Signal, registration and operator sampling while online (`AT+CSQ`, `AT+CESQ`, `AT+CEREG?`,
   * `AT+COPS?`, one command at a time so a send waits for at most one of them). Default 30 000;
   * 0 turns sampling off (no `AT+CSQ` is ever written).
   */
  signalIntervalMs?: number;
  /** Timeout of each sampling command. Default 5000. */
  sampleTimeoutMs?: number;
  /** Read IMEI, ICCID, IMSI, model and firmware once the module is online. Default true. */
  identity?: boolean;
}

/** One supervision state change. `at` is ms since the epoch. */
export interface Transition {
  at: number;
  from: ModemState;
  to: ModemState;
  reason: string | undefined;
}

/** Something an operator wants to see in a list: a reboot, a bearer loss, a timeout, a recovery. */
export interface StatusEvent {
  at: number;
  kind: RecoveryReason | 'recovered' | 'at-timeout' | 'link-error' | 'closed';
  message: string;
}

/** The latest signal sample. */
export interface SignalSample {
  at: number;
  /** `+CSQ` rssi 0–31, 99 unknown. */
  rssi: number;
  dbm: number | undefined;
  bars: number;
  rsrpDbm?: number;
  rsrqDb?: number;
}

/** Per command name: how often it ended, how, and how long it took. */
export interface CommandStats {
  count: number;
  errors: number;
  timeouts: number;
  /** Given up because the module restarted or the port closed. */
  abandoned: number;
  /** Round trips of commands that got a final result (ok or error), in seconds. */
  latency: { buckets: readonly number[]; counts: number[]; sum: number; count: number };
}

/** One link as a status page shows it: no credentials (host and port only). */
export interface LinkStats {
  /** This observer's sequence number (stable across the link's life). */
  id: number;
  /** Module link 0–5 while allocated, else -1. */
  link: number;
  state: 'connecting' | 'open' | 'closed';
  destination: string;
  tls: SocketOpened['tls'];
  openedAt: number;
  connectedAt: number | undefined;
  closedAt: number | undefined;
  /** Bytes the module accepted for sending. */
  bytesUp: number;
  bytesDown: number;
  /** `AT+CIPSEND`s that carried its data. */
  sends: number;
  lastActivityAt: number | undefined;
  /** The error code it closed with, if any. */
  error: string | undefined;
}

/** The module's identity; ICCID and IMSI are masked unless asked for in full. */
export interface IdentityStats {
  imei: string | undefined;
  iccid: string | undefined;
  imsi: string | undefined;
  model: string | undefined;
  firmware: string | undefined;
}

/** What {@link ModemObserver.stats} returns: a plain, JSON-ready snapshot. */
export interface ModemStats {
  /** When the snapshot was taken (ms since the epoch). */
  takenAt: number;
  state: { current: ModemState; since: number; transitions: Transition[] };
  recoveries: Record<RecoveryReason, number> & { total: number };
  identity: IdentityStats;
  network: {
    signal: SignalSample | undefined;
    registration: Registration | undefined;
    operator: string | undefined;
    /** From `+COPS`'s access technology: 'LTE', 'GSM', ... */
    accessTechnology: string | undefined;
    ipAddress: string | undefined;
  };
  /** The last hour of signal samples, oldest first. */
  signalHistory: SignalSample[];
  /** Bytes on the serial line since the observer started, all AT channels the modem had. */
  serial: { bytesIn: number; bytesOut: number };
  links: LinkStats[];
  closedLinks: LinkStats[];
  /** Bytes each module link (0–5) carried since the observer started, closed links included. */
  linkTotals: Array<{ link: number; bytesUp: number; bytesDown: number }>;
  at: { commands: Partial<Record<CommandLabel, CommandStats>> };
  events: StatusEvent[];
}

interface LinkRecord {
  stats: LinkStats;
  socket: ModemSocket;
}

/** 3GPP 27.007 `<AcT>` of `+COPS`. */
const ACCESS_TECH: Record<number, string> = { 0: 'GSM', 2: 'UTRAN', 3: 'GSM/EGPRS', 7: 'LTE', 9: 'NB-IoT' };

/**
 * Watches a {@link Modem} and keeps its statistics. Events: `'stats'` (ModemStats), at most every
 * 250 ms while something changes and someone listens; `'event'` (StatusEvent); `'command'`
 * (label, outcome, seconds | undefined) as each AT command ends, while someone listens.
 */
export class ModemObserver extends EventEmitter {
  readonly modem: Modem;
  private readonly opts: Required<ObserveModemOptions>;
  private readonly transitions: Transition[] = [];
  private since = Date.now();
  private readonly recoveries: Record<RecoveryReason, number> = { reboot: 0, pdp: 0, port: 0, unresponsive: 0 };
  private identityRaw: IdentityStats = {
    imei: undefined,
    iccid: undefined,
    imsi: undefined,
    model: undefined,
    firmware: undefined,
  };
  private identityRead = false;
  private signal: SignalSample | undefined;
  private readonly signalHistory: SignalSample[] = [];
  private registration: Registration | undefined;
  private operator: string | undefined;
  private accessTechnology: string | undefined;
  private readonly commands = new Map<CommandLabel, CommandStats>();
  private readonly events: StatusEvent[] = [];
  private readonly links = new Map<ModemSocket, LinkRecord>();
  private readonly closedLinks: LinkStats[] = [];
  /** Bytes of closed links, by module link id. */
  private readonly closedTotals = new Map<number, { up: number; down: number }>();
  private linkSeq = 0;
  private channel: AtChannel | undefined;
  /** Serial bytes of the AT channels the modem had before the current one. */
  private bytesBase = { in: 0, out: 0 };
  private sampleTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  private statsTimer: NodeJS.Timeout | undefined;
  private lastStatsAt = 0;
  private recoveringSince: number | undefined;
  private closed = false;
  private readonly unlisten: Array<() => void> = [];

  constructor(modem: Modem, options: ObserveModemOptions = {}) {
    super();
    this.modem = modem;
    const interval = options.signalIntervalMs ?? 30_000;
    if (!(Number.isFinite(interval) && interval >= 0))
      throw new RangeError(`signalIntervalMs must be 0 (off) or a positive number, got ${interval}`);
    this.opts = {
      signalIntervalMs: interval,
      sampleTimeoutMs: options.sampleTimeoutMs ?? 5000,
      identity: options.identity ?? true,
    };
    this.listen(modem, 'state', (to: ModemState, from: ModemState) => this.onState(to, from));
    this.listen(modem, 'recovering', (reason: RecoveryReason) => this.onRecovering(reason));
    this.listen(modem, 'progress', (p: { step: string }) => this.reasonForLast(p.step));
    this.listen(modem, 'socket', (socket: ModemSocket, info: SocketOpened) => this.onSocket(socket, info));
    this.attachChannel();
    if (modem.state === 'online') this.onOnline();
  }

  /** A plain snapshot; ICCID and IMSI masked unless `{ unmasked: true }`. */
  stats(options: { unmasked?: boolean } = {}): ModemStats {
    const now = Date.now();
    const id = this.identityRaw;
    const commands: ModemStats['at']['commands'] = {};
    for (const [name, c] of this.commands)
      commands[name] = { ...c, latency: { ...c.latency, counts: [...c.latency.counts] } };
    const ch = this.channel;
    return {
      takenAt: now,
      state: { current: this.modem.state, since: this.since, transitions: this.transitions.map((t) => ({ ...t })) },
      recoveries: { ...this.recoveries, total: Object.values(this.recoveries).reduce((a, b) => a + b, 0) },
      identity: {
        imei: id.imei,
        iccid: options.unmasked ? id.iccid : maskIdentity(id.iccid),
        imsi: options.unmasked ? id.imsi : maskIdentity(id.imsi),
        model: id.model,
        firmware: id.firmware,
      },
      network: {
        signal: this.signal && { ...this.signal },
        registration: this.registration && { ...this.registration },
        operator: this.operator,
        accessTechnology: this.accessTechnology,
        ipAddress: this.modem.state === 'online' ? this.modem.ipAddress : undefined,
      },
      signalHistory: this.signalHistory.filter((s) => s.at >= now - 3_600_000).map((s) => ({ ...s })),
      serial: { bytesIn: this.bytesBase.in + (ch?.bytesIn ?? 0), bytesOut: this.bytesBase.out + (ch?.bytesOut ?? 0) },
      links: [...this.links.values()].map((r) => this.linkSnapshot(r)),
      closedLinks: this.closedLinks.map((l) => ({ ...l })),
      linkTotals: this.linkTotals(),
      at: { commands },
      events: this.events.map((e) => ({ ...e })),
    };
  }

  /** IMEI, ICCID, IMSI in full (for the caller's own use; never rendered by this package). */
  identity(): IdentityStats {
    return { ...this.identityRaw };
  }

  /** Stop watching: listeners off, timers cleared. The modem is not touched. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.unlisten) f();
    this.unlisten.length = 0;
    this.detachChannel();
    this.stopSampling();
    if (this.statsTimer) clearTimeout(this.statsTimer);
    this.statsTimer = undefined;
  }

  /** Take a signal sample now (also what the interval timer does). Resolves when it is done. */
  async sampleSignal(): Promise<void> {
    if (this.sampling || this.closed || this.modem.state !== 'online') return;
    this.sampling = true;
    try {
      // One command at a time: a send queued meanwhile waits for at most one of these.
      const csq = (await this.ask('AT+CSQ'))?.map(parseCsq).find((x) => x !== undefined);
      const cesq = csq && (await this.ask('AT+CESQ'))?.map(parseCesq).find((x) => x !== undefined);
      if (csq) {
        const sample: SignalSample = { at: Date.now(), ...csq, ...(cesq ?? {}) };
        this.signal = sample;
        this.signalHistory.push(sample);
        const cutoff = sample.at - 3_600_000;
        while (
          this.signalHistory.length > MAX_SIGNAL_SAMPLES ||
          (this.signalHistory[0] && this.signalHistory[0].at < cutoff)
        )
          this.signalHistory.shift();
      }
      const reg = (await this.ask('AT+CEREG?'))?.map(parseRegistration).find((x) => x !== undefined);
      if (reg) this.registration = reg;
      const cops = (await this.ask('AT+COPS?'))?.map(parseCopsFull).find((x) => x !== undefined);
      if (cops) {
        this.operator = cops.operator;
        this.accessTechnology = cops.act === undefined ? undefined : (ACCESS_TECH[cops.act] ?? `AcT ${cops.act}`);
      }
      this.changed();
    } finally {
      this.sampling = false;
    }
  }

  // ---- modem events ----------------------------------------------------------------------

  private listen(emitter: EventEmitter, event: string, fn: (...args: never[]) => void): void {
    emitter.on(event, fn as (...args: unknown[]) => void);
    this.unlisten.push(() => emitter.off(event, fn as (...args: unknown[]) => void));
  }

  private onState(to: ModemState, from: ModemState): void {
    const now = Date.now();
    this.since = now;
    this.transitions.push({ at: now, from, to, reason: to === 'closed' ? 'close()' : undefined });
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
    // A reopened port comes with a new AT channel: keep counting on it.
    if (this.modem.at !== this.channel) this.attachChannel();
    if (to === 'online') {
      this.reasonForLast(from === 'opening' || this.recoveringSince === undefined ? 'bearer up' : 'recovered');
      if (this.recoveringSince !== undefined) {
        this.event('recovered', `back online after ${((now - this.recoveringSince) / 1000).toFixed(1)} s`);
        this.recoveringSince = undefined;
      }
      this.onOnline();
    } else {
      this.stopSampling();
      if (to === 'closed') this.event('closed', 'the modem was closed');
    }
    this.changed();
  }

  private onRecovering(reason: RecoveryReason): void {
    this.recoveries[reason]++;
    this.recoveringSince ??= Date.now();
    this.reasonForLast(reason);
    this.event(reason, RECOVERY_WORDS[reason]);
    this.changed();
  }

  /** The cause of the latest transition, when it was not known as it happened. */
  private reasonForLast(reason: string): void {
    const last = this.transitions[this.transitions.length - 1];
    if (last && last.reason === undefined) last.reason = reason;
  }

  private onOnline(): void {
    if (this.opts.identity && !this.identityRead) void this.readIdentity().then(() => this.startSampling());
    else this.startSampling();
  }

  private startSampling(): void {
    if (this.opts.signalIntervalMs === 0 || this.closed || this.modem.state !== 'online' || this.sampleTimer) return;
    void this.sampleSignal();
    this.sampleTimer = setInterval(() => void this.sampleSignal(), this.opts.signalIntervalMs);
    this.sampleTimer.unref();
  }

  private stopSampling(): void {
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    this.sampleTimer = undefined;
  }

  private async readIdentity(): Promise<void> {
    const ati = await this.ask('ATI');
    const firmware = (ati && parseFirmware(ati)) ?? parseFirmware((await this.ask('AT+CGMR')) ?? []);
    const model = parseModel((await this.ask('AT+CGMM')) ?? []);
    const imei = parseDigits((await this.ask('AT+CGSN')) ?? [], 14, 17);
    const iccid =
      parseDigits((await this.ask('AT+ICCID')) ?? [], 18, 22) ?? parseDigits((await this.ask('AT+CCID')) ?? [], 18, 22);
    const imsi = parseDigits((await this.ask('AT+CIMI')) ?? [], 14, 15);
    if (this.modem.state !== 'online') return; // asked mid-recovery: try again when back
    this.identityRaw = { imei, iccid, imsi, model, firmware };
    this.identityRead = true;
    this.changed();
  }

  /** Lines of a command, or undefined when it was refused or the channel failed. */
  private async ask(command: string): Promise<string[] | undefined> {
    if (this.closed || this.modem.state !== 'online') return undefined;
    try {
      return (await this.modem.at.send(command, { timeoutMs: this.opts.sampleTimeoutMs })).lines;
    } catch (err) {
      if (!(err instanceof AtCommandError)) debug('%s failed: %s', command, (err as Error).message);
      return undefined;
    }
  }

  // ---- the AT channel -----------------------------------------------------------------------

  private readonly onResult = (r: AtCommandResult): void => {
    const label = commandLabel(r.command);
    let c = this.commands.get(label);
    if (!c) {
      c = {
        count: 0,
        errors: 0,
        timeouts: 0,
        abandoned: 0,
        latency: {
          buckets: LATENCY_BUCKETS_S,
          counts: new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0),
          sum: 0,
          count: 0,
        },
      };
      this.commands.set(label, c);
    }
    c.count++;
    if (r.outcome === 'error') c.errors++;
    else if (r.outcome === 'timeout') c.timeouts++;
    else if (r.outcome === 'abandoned' || r.outcome === 'closed') c.abandoned++;
    const seconds = r.ms === undefined ? undefined : r.ms / 1000;
    if ((r.outcome === 'ok' || r.outcome === 'error') && seconds !== undefined) {
      const i = LATENCY_BUCKETS_S.findIndex((b) => seconds <= b);
      c.latency.counts[i < 0 ? LATENCY_BUCKETS_S.length : i]!++;
      c.latency.sum += seconds;
      c.latency.count++;
    }
    if (r.outcome === 'timeout') this.event('at-timeout', `${label} got no answer in time`);
    if (label === 'CIPSEND' && r.outcome === 'ok') {
      const link = /^AT\+CIPSEND=(\d)/i.exec(r.command);
      if (link) this.activity(Number(link[1]), true);
    }
    if (this.listenerCount('command') > 0) this.emit('command', label, r.outcome, seconds);
    this.changed();
  };

  private readonly onToken = (t: AtToken): void => {
    if (t.type === 'block' && t.link !== undefined) this.activity(t.link, false);
  };

  private attachChannel(): void {
    this.detachChannel();
    const ch = this.modem.at;
    this.channel = ch;
    ch.on('result', this.onResult);
    ch.on('token', this.onToken);
  }

  private detachChannel(): void {
    const ch = this.channel;
    if (!ch) return;
    ch.off('result', this.onResult);
    ch.off('token', this.onToken);
    this.bytesBase = { in: this.bytesBase.in + ch.bytesIn, out: this.bytesBase.out + ch.bytesOut };
    this.channel = undefined;
  }

  // ---- links --------------------------------------------------------------------------------

  private onSocket(socket: ModemSocket, info: SocketOpened): void {
    const now = Date.now();
    const rec: LinkRecord = {
      socket,
      stats: {
        id: ++this.linkSeq,
        link: socket.link,
        state: 'connecting',
        destination: `${info.host.includes(':') ? `[${info.host}]` : info.host}:${info.port}`,
        tls: info.tls,
        openedAt: now,
        connectedAt: undefined,
        closedAt: undefined,
        bytesUp: 0,
        bytesDown: 0,
        sends: 0,
        lastActivityAt: undefined,
        error: undefined,
      },
    };
    this.links.set(socket, rec);
    socket.once('connect', () => {
      rec.stats.connectedAt = Date.now();
      rec.stats.state = 'open';
      rec.stats.link = socket.link;
      this.changed();
    });
    // Not an 'error' listener: that would keep an unhandled socket error from surfacing.
    socket.once('close', () => {
      const err = socket.errored as (Error & { code?: string }) | null;
      if (err) rec.stats.error = err.code ?? err.name;
      this.onSocketClosed(rec);
    });
    this.changed();
  }

  private onSocketClosed(rec: LinkRecord): void {
    const s = this.linkSnapshot(rec);
    s.state = 'closed';
    s.closedAt = Date.now();
    this.links.delete(rec.socket);
    if (s.link >= 0) {
      const t = this.closedTotals.get(s.link) ?? { up: 0, down: 0 };
      t.up += s.bytesUp;
      t.down += s.bytesDown;
      this.closedTotals.set(s.link, t);
    }
    this.closedLinks.unshift(s);
    if (this.closedLinks.length > MAX_CLOSED_LINKS) this.closedLinks.pop();
    if (s.error) this.event('link-error', `link to ${s.destination} closed: ${s.error}`);
    this.changed();
  }

  private linkSnapshot(r: LinkRecord): LinkStats {
    const s = r.stats;
    return {
      ...s,
      link: r.socket.link >= 0 ? r.socket.link : s.link,
      bytesUp: r.socket.bytesWritten,
      bytesDown: r.socket.bytesRead,
    };
  }

  private linkTotals(): ModemStats['linkTotals'] {
    const totals = new Map<number, { up: number; down: number }>();
    for (const [link, t] of this.closedTotals) totals.set(link, { ...t });
    for (const r of this.links.values()) {
      const link = r.socket.link >= 0 ? r.socket.link : r.stats.link;
      if (link < 0) continue;
      const t = totals.get(link) ?? { up: 0, down: 0 };
      t.up += r.socket.bytesWritten;
      t.down += r.socket.bytesRead;
      totals.set(link, t);
    }
    return [...totals].sort((a, b) => a[0] - b[0]).map(([link, t]) => ({ link, bytesUp: t.up, bytesDown: t.down }));
  }

  private activity(link: number, send: boolean): void {
    for (const r of this.links.values()) {
      if (r.socket.link !== link) continue;
      r.stats.lastActivityAt = Date.now();
      if (send) r.stats.sends++;
      return;
    }
  }

  // ---- output -------------------------------------------------------------------------------

  private event(kind: StatusEvent['kind'], message: string): void {
    const e: StatusEvent = { at: Date.now(), kind, message };
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.shift();
    if (this.listenerCount('event') > 0) this.emit('event', e);
  }

  /** Something changed: a 'stats' event within 250 ms, if anyone listens. */
  private changed(): void {
    if (this.statsTimer || this.closed || this.listenerCount('stats') === 0) return;
    const wait = Math.max(0, this.lastStatsAt + STATS_THROTTLE_MS - Date.now());
    this.statsTimer = setTimeout(() => {
      this.statsTimer = undefined;
      this.lastStatsAt = Date.now();
      if (!this.closed && this.listenerCount('stats') > 0) this.emit('stats', this.stats());
    }, wait);
    this.statsTimer.unref();
  }
}

const RECOVERY_WORDS: Record<RecoveryReason, string> = {
  reboot: 'the module rebooted (RDY)',
  pdp: 'the bearer was lost (+PDP: DEACT)',
  port: 'the serial port vanished',
  unresponsive: 'the module stopped answering',
};

/** `+COPS: 0,0,"CHINA MOBILE",7` → operator and access technology. */
function parseCopsFull(line: string): { operator: string; act: number | undefined } | undefined {
  const m = /^\+COPS:\s*\d+\s*,\s*\d+\s*,\s*"([^"]*)"(?:\s*,\s*(\d+))?/.exec(line.trim());
  return m ? { operator: m[1]!, act: m[2] === undefined ? undefined : Number(m[2]) } : undefined;
}

/** Start watching `modem`; see {@link ModemObserver}. */
export function observeModem(modem: Modem, options?: ObserveModemOptions): ModemObserver {
  return new ModemObserver(modem, options);
}
