/**
 * The soak's traffic sources: LuatOS-API clients (`websocket.create` with `autoreconn`), the
 * idiomatic `WebSocketClient` with its reconnect policy, and a raw `ModemSocket` that reconnects
 * by hand. Each keeps a ledger of what it sent (and whether the peer's TCP acknowledged it) and
 * checks every message it receives.
 */
import createDebug from 'debug';
import type { Modem, ModemSocket } from '../modem/index.js';
import { openerConnect, websocket, WebSocketClient, type LuatWebSocket } from '../ws/index.js';
import { decodeBinary, decodeText, encodeBinary, encodeText, frame, FrameReader, type Decoded } from './message.js';
import { Rng } from './rng.js';
import { messageSize, type TrafficShape } from './traffic.js';

const debug = createDebug('air780:soak:client');

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
  return { sends: new Map(), receivedOk: 0, receivedBytes: 0, corrupt: [], duplicates: [], disorder: [], errors: new Map(), connects: 0, outages: [] };
}

const LIST_BOUND = 100;
function note(list: string[], what: string): void {
  if (list.length < LIST_BOUND) list.push(what);
  else if (list.length === LIST_BOUND) list.push('… (more)');
}

/** Shared bookkeeping: the send loop, acknowledgements, receive checks, up/down timeline. */
abstract class Base implements SoakClient {
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
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
      this.schedule();
    }, this.rng.int(this.ctx.traffic.minIntervalMs, this.ctx.traffic.maxIntervalMs));
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
    const code = e?.code !== undefined ? String(e.code) : `${String(e?.name ?? 'Error')}: ${String(e?.message ?? e)}`.slice(0, 160);
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

/**
 * LuatOS API. `sent` carries no message identity: it fires once per `send()` call, in order, when
 * the peer acknowledged that frame. So each connection keeps a FIFO of its send calls.
 */
class LuatClient extends Base {
  private readonly wsc: LuatWebSocket;
  private readonly fragments: boolean;
  /** Send calls of the current connection, oldest first: the message and whether the call ended it. */
  private calls: Array<{ seq: number; last: boolean }> = [];
  /** Calls of the connection that just ended (a late `sent` may still come for them). */
  private stale: Array<{ seq: number; last: boolean }> = [];

  constructor(name: string, ctx: ClientContext, stream: number, fragments: boolean) {
    super(name, fragments ? 'luatos-fragments' : 'luatos-text', ctx, stream);
    this.fragments = fragments;
    const url = `ws://127.0.0.1:${ctx.wsPort}/soak?id=${name}&fmt=${fragments ? 'bin' : 'text'}`;
    const wsc = websocket.create(ctx.modem, url, ctx.keepalive);
    if (!wsc) throw new Error(`websocket.create refused ${url}`);
    this.wsc = wsc;
    wsc.autoreconn(true, ctx.reconnectMs);
    wsc.on((_c, event, data, payload) => {
      switch (event) {
        case 'conack':
          for (const c of this.stale.splice(0)) this.settle(c.seq, false);
          this.markUp();
          break;
        case 'disconnect':
          this.stale.push(...this.calls.splice(0));
          this.markDown();
          break;
        case 'sent': {
          const c = this.stale.shift() ?? this.calls.shift();
          if (!c) note(this.ledger.corrupt, 'a sent event with no send outstanding');
          else if (c.last) this.settle(c.seq, true);
          break;
        }
        case 'recv':
          if (typeof data === 'string') this.receive(decodeText(data), data.length);
          else if (data) this.receive(decodeBinary(data), data.length);
          break;
        case 'error':
          this.countError(payload);
          break;
      }
    });
  }

  ready(): boolean {
    return this.wsc.ready();
  }

  protected connect(): void {
    this.wsc.connect();
  }

  protected transmit(seq: number, payload: Buffer): boolean | 'partial' {
    const m = { id: this.name, conn: this.conn, seq, payload };
    if (!this.fragments) {
      if (!this.wsc.send(encodeText(m))) return false;
      this.calls.push({ seq, last: true });
      return true;
    }
    // One binary message in 1..3 frames (continuations), cut at random places.
    const bytes = encodeBinary(m);
    const cuts = [...new Set([this.rng.int(0, bytes.length), this.rng.int(0, bytes.length)])].sort((a, b) => a - b).slice(0, this.rng.int(0, 2));
    const bounds = [0, ...cuts, bytes.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const last = i + 2 === bounds.length;
      if (!this.wsc.send(bytes.subarray(bounds[i], bounds[i + 1]), last ? 1 : 0, 1)) {
        // The connection went away between frames: the message was never whole.
        return i > 0 ? 'partial' : false;
      }
      this.calls.push({ seq, last });
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopSending();
    this.wsc.close();
    for (const c of [...this.stale.splice(0), ...this.calls.splice(0)]) this.settle(c.seq, false);
  }
}

/** The idiomatic client: `onAcked` names the message, the reconnect policy is exponential. */
class CoreClient extends Base {
  private readonly ws: WebSocketClient;

  constructor(name: string, ctx: ClientContext, stream: number) {
    super(name, 'client', ctx, stream);
    this.ws = new WebSocketClient(`ws://127.0.0.1:${ctx.wsPort}/soak?id=${name}&fmt=bin`, {
      connect: openerConnect(ctx.modem),
      autoConnect: false,
      keepaliveMs: ctx.keepalive * 1000,
      handshakeTimeoutMs: 30_000,
      reconnect: { strategy: 'exponential', initialDelayMs: 500, maxDelayMs: 4000 },
    });
    this.ws.on('open', () => this.markUp());
    this.ws.on('close', () => this.markDown());
    this.ws.on('error', (err) => this.countError(err));
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.receive(decodeBinary(data as Buffer), (data as Buffer).length);
      else this.receive(decodeText(data as string), (data as string).length);
    });
  }

  ready(): boolean {
    return this.ws.state === 'open';
  }

  protected connect(): void {
    this.ws.connect();
  }

  protected transmit(seq: number, payload: Buffer): boolean {
    this.ws.send(encodeBinary({ id: this.name, conn: this.conn, seq, payload }), { binary: true, onAcked: (err) => this.settle(seq, !err) }, (err) => {
      if (err) this.settle(seq, false);
    });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopSending();
    const closed = new Promise<void>((resolve) => {
      if (this.ws.state === 'closed' || this.ws.state === 'idle') return resolve();
      const t = setTimeout(resolve, 8000);
      this.ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.ws.close();
    await closed;
  }
}

/** A raw module link with length-prefixed frames; reconnects itself half a second after a loss. */
class RawClient extends Base {
  private socket: ModemSocket | undefined;
  private connected = false;
  private offset = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(name: string, ctx: ClientContext, stream: number) {
    super(name, 'raw', ctx, stream);
  }

  ready(): boolean {
    return this.connected;
  }

  protected connect(): void {
    if (this.closed) return;
    let s: ModemSocket;
    try {
      s = this.ctx.modem.connect('127.0.0.1', this.ctx.rawPort);
    } catch (err) {
      this.countError(err);
      this.later();
      return;
    }
    this.socket = s;
    this.offset = 0;
    const reader = new FrameReader(16 * 1024 * 1024);
    s.on('connect', () => {
      this.connected = true;
      this.markUp();
    });
    s.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        note(this.ledger.corrupt, (err as Error).message);
        s.destroy();
        return;
      }
      for (const f of frames) this.receive(decodeBinary(f), f.length);
    });
    s.on('error', (err) => this.countError(err));
    s.on('close', () => {
      if (this.socket === s) {
        this.socket = undefined;
        this.connected = false;
        this.markDown();
        this.later();
      }
    });
  }

  private later(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect();
    }, 500);
  }

  protected transmit(seq: number, payload: Buffer): boolean {
    const s = this.socket;
    if (!s || !this.connected) return false;
    const bytes = frame(encodeBinary({ id: this.name, conn: this.conn, seq, payload }));
    this.offset += bytes.length;
    const end = this.offset;
    s.write(bytes, (err) => {
      if (err) return this.settle(seq, false);
      s.delivery.waitAcked(end).then(
        () => this.settle(seq, true),
        (e: Error) => {
          this.countError(e);
          this.settle(seq, false);
        },
      );
    });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopSending();
    if (this.retry) clearTimeout(this.retry);
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, 8000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }
}

/** The soak's client set: two LuatOS clients (text; binary in fragments), the core client, a raw socket. */
export function createClients(ctx: ClientContext): SoakClient[] {
  debug('clients on ws port %d, raw port %d', ctx.wsPort, ctx.rawPort);
  return [
    new LuatClient('lua-text', ctx, 1, false),
    new LuatClient('lua-frag', ctx, 2, true),
    new CoreClient('core', ctx, 3),
    new RawClient('raw', ctx, 4),
  ];
}
