import type { PerMessageDeflateOptions } from './deflate.js';
import type { HeaderInput } from './headers.js';
import type { ReconnectOptions } from './reconnect.js';
import type { ConnectFn, WsTlsOptions } from './transport.js';

// The client's public types, apart from the class so its parts can share them without importing it.

/** Options of {@link WebSocketClient}. */
export interface WebSocketClientOptions {
  /** Subprotocols to offer (`Sec-WebSocket-Protocol`): HTTP tokens, each once (else `ERR_WS_BAD_HEADER`). */
  protocols?: string | string[];
  /** `Origin` header: a string without control characters (else `ERR_WS_BAD_HEADER`). */
  origin?: string;
  /** Extra handshake headers (names must be tokens; handshake headers are refused). */
  headers?: HeaderInput;
  /**
   * permessage-deflate (RFC 7692). On by default: the cellular link is slow and often metered.
   * Out-of-range settings throw `ERR_WS_BAD_OPTION`.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Largest incoming message in bytes, after inflation (default 64 MiB). Larger → close 1009. A
   * message may also span at most `max(1024, maxPayload / 64)` frames (else 1009).
   */
  maxPayload?: number;
  /**
   * Bytes of received messages a `for await` loop may have waiting (default 4 MiB; a message
   * counts its bytes, or for binary the memory its Buffer keeps alive, + 128). Past it, reading stops until the loop has taken half of them. The first
   * loop also gets the messages received since 'open', kept within the same bound.
   */
  maxQueuedBytes?: number;
  /** Largest handshake response head (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Connect + TLS + handshake deadline in ms (default 30000). */
  handshakeTimeoutMs?: number;
  /** How long to wait for the server's close frame and TCP close after ours (default 5000). */
  closeTimeoutMs?: number;
  /** Ping after this many ms without incoming traffic; 0 disables (default 60000). */
  keepaliveMs?: number;
  /** After a keepalive ping, how long to wait for any incoming traffic (default: keepaliveMs). */
  pongTimeoutMs?: number;
  /** Reconnect after unintended closes: true = LuatOS fixed 3000 ms. Default off. */
  reconnect?: boolean | ReconnectOptions;
  /** Follow 301/302/303/307/308 redirects of the handshake (default false). */
  followRedirects?: boolean;
  /** At most this many redirects (default and maximum 10). */
  maxRedirects?: number;
  /**
   * Names of `headers` still sent after a redirect to another origin (host, port, or wss → ws).
   * Default none: any header may carry a credential, so the user's headers stay with the first
   * origin unless listed here.
   */
  redirectHeaders?: readonly string[];
  /** How to get a connected stream; default host `net`/`tls`. */
  connect?: ConnectFn;
  /** TLS options of the default transport. */
  tls?: WsTlsOptions;
  /** Emit 'fragment' for every data frame instead of 'message' for whole messages. */
  frames?: boolean;
  /** Connect in the constructor (default true). With false, call {@link WebSocketClient.connect}. */
  autoConnect?: boolean;
  /** Turn this client's trace on (namespace air780:ws:<id>) regardless of DEBUG. */
  trace?: boolean;
}

/** Per-send options. */
export interface SendOptions {
  /** Binary frame (default: true for buffers, false for strings). */
  binary?: boolean;
  /** False leaves the message open for continuation frames (default true). */
  fin?: boolean;
  /** Compress this message when permessage-deflate is on (default true). */
  compress?: boolean;
  /**
   * Called once the peer's TCP acknowledged the frame (via the stream's `delivery` tracker), or
   * on write completion when the stream has no tracker.
   */
  onAcked?: (err?: Error) => void;
}

/**
 * What {@link WebSocketClient.sendAsync} waits for. `'accepted'` (default): the module accepted
 * every byte of the message's frame(s) (`DATA ACCEPT`); on a stream without a delivery tracker
 * (host sockets, any other Duplex) the frame was written into the stream. `'acked'`: the peer's TCP
 * acknowledged them (AT+CIPACK); without a tracker, also write completion. `'written'` is a
 * deprecated alias of `'accepted'` (its old name, from when it resolved on write completion).
 */
export type SendWaitFor = 'accepted' | 'acked' | 'written';

/** Connection state. */
export type WsState = 'idle' | 'connecting' | 'open' | 'closing' | 'closed';

/** A received message as yielded by async iteration. */
export interface WsMessage {
  data: string | Buffer;
  isBinary: boolean;
}

/** Arguments of each event. */
export interface WebSocketClientEvents {
  open: [];
  /** Text as a string, binary as a Buffer. */
  message: [data: string | Buffer, isBinary: boolean];
  /** `frames: true` only: one data frame; `opcode` 0 for continuations. */
  fragment: [data: Buffer, fin: boolean, opcode: number];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: string, wasClean: boolean];
  error: [err: Error];
  /** A reconnect is scheduled. */
  reconnecting: [info: { attempt: number; delayMs: number }];
}
