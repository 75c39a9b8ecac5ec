/**
 * The soak's traffic sources: LuatOS-API clients (`websocket.create` with `autoreconn`), the
 * idiomatic `WebSocketClient` with its reconnect policy, and a raw `ModemSocket` that reconnects
 * by hand. Each keeps a ledger of what it sent (and whether the peer's TCP acknowledged it) and
 * checks every message it receives.
 */
import createDebug from 'debug';
import type { ModemSocket } from '../modem/index.js';
import { openerConnect, websocket, WebSocketClient, type LuatWebSocket } from '../ws/index.js';
import { decodeBinary, decodeText, encodeBinary, encodeText, frame, FrameReader } from './message.js';
import { Base, note, type ClientContext, type SoakClient } from './client-base.js';

const debug = createDebug('air780:soak:client');

export type { ClientContext, ClientKind, ClientLedger, SendState, SoakClient } from './client-base.js';

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
    const cuts = [...new Set([this.rng.int(0, bytes.length), this.rng.int(0, bytes.length)])]
      .sort((a, b) => a - b)
      .slice(0, this.rng.int(0, 2));
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
    this.ws.send(
      encodeBinary({ id: this.name, conn: this.conn, seq, payload }),
      { binary: true, onAcked: (err) => this.settle(seq, !err) },
      (err) => {
        if (err) this.settle(seq, false);
      },
    );
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
