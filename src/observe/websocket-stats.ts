/**
 * `observeWebSocket(client)`: a websocket client's own numbers (state, connects, reconnects,
 * messages and bytes each way, the last close, ping round trip) from its events; outgoing
 * messages and pings are counted by wrapping the instance's `send` and `ping` (undone by `close()`).
 */
import { EventEmitter } from 'node:events';
import type { WebSocketClient } from '../ws/index.js';
import type { WsState } from '../ws/types.js';

/** What {@link WebSocketObserver.stats} returns. */
export interface WebSocketStats {
  /** The URL without userinfo, query or fragment (`?…` marks a query left out). */
  url: string;
  state: WsState;
  connects: number;
  reconnects: number;
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  lastClose: { at: number; code: number; reason: string; wasClean: boolean } | undefined;
  /** Round trip of the last answered {@link WebSocketClient.ping}, in ms. */
  pingRttMs: number | undefined;
}

/** Watches one {@link WebSocketClient}; see the module comment. Event: 'change'. */
export class WebSocketObserver extends EventEmitter {
  readonly client: WebSocketClient;
  private readonly s: Omit<WebSocketStats, 'state' | 'url'>;
  private readonly safeUrl: string;
  private pingSentAt: number | undefined;
  private readonly undo: Array<() => void> = [];

  constructor(client: WebSocketClient) {
    super();
    this.client = client;
    this.safeUrl = safeUrl(client.url);
    this.s = {
      connects: 0,
      reconnects: 0,
      messagesIn: 0,
      bytesIn: 0,
      messagesOut: 0,
      bytesOut: 0,
      lastClose: undefined,
      pingRttMs: undefined,
    };
    const emitter = client as unknown as EventEmitter;
    const on = (event: string, fn: (...args: never[]) => void) => {
      emitter.on(event, fn as (...args: unknown[]) => void);
      this.undo.push(() => emitter.off(event, fn as (...args: unknown[]) => void));
    };
    on('open', () => {
      this.s.connects++;
      this.emit('change');
    });
    on('reconnecting', () => {
      this.s.reconnects++;
      this.emit('change');
    });
    on('message', (data: Buffer | string) => {
      this.s.messagesIn++;
      this.s.bytesIn += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      this.emit('change');
    });
    on('close', (code: number, reason: string, wasClean: boolean) => {
      this.s.lastClose = { at: Date.now(), code, reason, wasClean };
      this.emit('change');
    });
    on('pong', () => {
      if (this.pingSentAt === undefined) return;
      this.s.pingRttMs = performance.now() - this.pingSentAt;
      this.pingSentAt = undefined;
      this.emit('change');
    });
    const send = client.send;
    const ping = client.ping;
    const self = this;
    // Own properties shadow the prototype's methods; deleting them restores the originals.
    Object.defineProperty(client, 'send', {
      configurable: true,
      writable: true,
      value: function (this: WebSocketClient, ...args: Parameters<WebSocketClient['send']>) {
        const before = client.state;
        send.apply(this, args);
        if (before !== 'open') return;
        const [data, options] = args;
        self.s.bytesOut += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        if (options?.fin !== false) self.s.messagesOut++;
        self.emit('change');
      },
    });
    Object.defineProperty(client, 'ping', {
      configurable: true,
      writable: true,
      value: function (this: WebSocketClient, ...args: Parameters<WebSocketClient['ping']>) {
        ping.apply(this, args);
        if (client.state === 'open') self.pingSentAt = performance.now();
      },
    });
    this.undo.push(() => {
      delete (client as unknown as Record<string, unknown>).send;
      delete (client as unknown as Record<string, unknown>).ping;
    });
  }

  /** A plain snapshot. */
  stats(): WebSocketStats {
    return {
      url: this.safeUrl,
      state: this.client.state,
      ...this.s,
      lastClose: this.s.lastClose && { ...this.s.lastClose },
    };
  }

  /** Stop watching and restore the client's own methods. */
  close(): void {
    for (const u of this.undo.splice(0)) u();
  }
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '[unparsable url]';
  }
}

/** Start watching `client`; see {@link WebSocketObserver}. */
export function observeWebSocket(client: WebSocketClient): WebSocketObserver {
  return new WebSocketObserver(client);
}
