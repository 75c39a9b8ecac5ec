/**
 * What every soak client shares: its ledger (what it sent, whether the peer acknowledged it, what
 * it received and how it checked), the send loop, receive checks and the up/down timeline. The
 * client kinds are in clients.ts.
 */
import type { Modem } from '../modem/index.js';
import type { Decoded } from './message.js';
import { Rng } from './rng.js';
import { messageSize, type TrafficShape } from './traffic.js';

export type ClientKind = 'luatos-text' | 'luatos-fragments' | 'client' | 'raw';

export type SendState = 'pending' | 'acked' | 'failed';

/** One client's record of a run. */
export interface ClientLedger {
  /** seq → state of every message handed to the transport. */
  sends: Map<number, SendState>;
  /** Messages received intact and in order. */
  receivedOk: number;
  receivedBytes: number;
  /** Messages that failed verification. */
  corrupt: string[];
  /** A (conn, seq) seen again. */
  duplicates: string[];
  /** A gap or a step back within one connection. */
  disorder: string[];
  /** Error events by code (expected around faults; counted, not graded). */
  errors: Map<string, number>;
  /** Connections established (conack / open / connect). */
  connects: number;
  /** Times spent disconnected after having been connected: [from, to) (to undefined while down). */
  outages: Array<{ from: number; to?: number }>;
}

export interface SoakClient {
  readonly name: string;
  readonly kind: ClientKind;
  readonly ledger: ClientLedger;
  /** Connected and able to send. */
  ready(): boolean;
  start(): void;
  /** Stop creating messages. */
  stopSending(): void;
  /** Messages sent whose acknowledgement (or failure) is still open. */
  pending(): number;
  close(): Promise<void>;
}

export interface ClientContext {
  modem: Modem;
  wsPort: number;
  rawPort: number;
  seed: number;
  traffic: TrafficShape;
  /** LuatOS `autoreconn` interval (ms). */
  reconnectMs: number;
  /** Keepalive in seconds. */
  keepalive: number;
}

function newLedger(): ClientLedger {
  return {
    sends: new Map(),
    receivedOk: 0,
    receivedBytes: 0,
    corrupt: [],
    duplicates: [],
    disorder: [],
    errors: new Map(),
    connects: 0,
    outages: [],
  };
}

const LIST_BOUND = 100;
export function note(list: string[], what: string): void {
  if (list.length < LIST_BOUND) list.push(what);
  else if (list.length === LIST_BOUND) list.push('… (more)');
}

/** Shared bookkeeping: the send loop, acknowledgements, receive checks, up/down timeline. */
export abstract class Base implements SoakClient {
  readonly ledger = newLedger();
  protected readonly rng: Rng;
  protected conn = 0;
  private nextSeq = 0;
  private outstanding = 0;
  private outstandingBytes = 0;
  private readonly sizes = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private up = false;
  /** Per server connection: the last seq received. */
  private readonly lastSeq = new Map<number, number>();
  protected closed = false;

  constructor(
    readonly name: string,
    readonly kind: ClientKind,
    protected readonly ctx: ClientContext,
    stream: number,
  ) {
    this.rng = new Rng(ctx.seed, stream);
  }

  abstract ready(): boolean;
  protected abstract connect(): void;
  /**
   * Hand one encoded message to the transport: true if taken, false if refused outright (the seq
   * is reused), 'partial' if only some of its frames went (the message can never be whole).
   */
  protected abstract transmit(seq: number, payload: Buffer): boolean | 'partial';
  abstract close(): Promise<void>;

  start(): void {
    this.sending = true;
    this.connect();
    this.schedule();
  }

  stopSending(): void {
    this.sending = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  pending(): number {
    return this.outstanding;
  }

  private schedule(): void {
    if (!this.sending || this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.tick();
        this.schedule();
      },
      this.rng.int(this.ctx.traffic.minIntervalMs, this.ctx.traffic.maxIntervalMs),
    );
  }

  private tick(): void {
    const t = this.ctx.traffic;
    if (!this.ready() || this.outstanding >= t.window || this.outstandingBytes >= t.windowBytes) return;
    const seq = this.nextSeq;
    const payload = this.rng.bytes(messageSize(this.rng, t.maxMessage));
    const taken = this.transmit(seq, payload);
    if (taken === false) return;
    this.nextSeq++;
    if (taken === 'partial') {
      this.ledger.sends.set(seq, 'failed');
      return;
    }
    this.ledger.sends.set(seq, 'pending');
    this.sizes.set(seq, payload.length);
    this.outstanding++;
    this.outstandingBytes += payload.length;
  }

  /** The transport's verdict on message `seq` (only the first verdict counts). */
  protected settle(seq: number, ok: boolean): void {
    if (this.ledger.sends.get(seq) !== 'pending') return;
    this.ledger.sends.set(seq, ok ? 'acked' : 'failed');
    this.outstanding--;
    this.outstandingBytes -= this.sizes.get(seq) ?? 0;
    this.sizes.delete(seq);
  }

  protected markUp(): void {
    this.ledger.connects++;
    this.conn++;
    const last = this.ledger.outages[this.ledger.outages.length - 1];
    if (last && last.to === undefined) last.to = Date.now();
    this.up = true;
  }

  protected markDown(): void {
    if (!this.up) return;
    this.up = false;
    if (!this.closed) this.ledger.outages.push({ from: Date.now() });
  }

  protected countError(err: unknown): void {
    const e = err as { code?: unknown; name?: unknown; message?: unknown } | undefined;
    // Errors without a code are named by their message: they are the ones worth a look.
    const code =
      e?.code !== undefined
        ? String(e.code)
        : `${String(e?.name ?? 'Error')}: ${String(e?.message ?? e)}`.slice(0, 160);
    this.ledger.errors.set(code, (this.ledger.errors.get(code) ?? 0) + 1);
  }

  /** Checks a message from the server: intact, from the server, next in its connection. */
  protected receive(d: Decoded, size: number): void {
    if (!d.ok) return note(this.ledger.corrupt, d.reason);
    const m = d.msg;
    if (m.id !== 'srv') return note(this.ledger.corrupt, `message claims to be from ${m.id}`);
    const last = this.lastSeq.get(m.conn) ?? -1;
    if (m.seq <= last) return note(this.ledger.duplicates, `server conn ${m.conn} #${m.seq} after #${last}`);
    if (m.seq !== last + 1) note(this.ledger.disorder, `server conn ${m.conn} #${m.seq} after #${last}`);
    this.lastSeq.set(m.conn, m.seq);
    this.ledger.receivedOk++;
    this.ledger.receivedBytes += size;
  }
}
