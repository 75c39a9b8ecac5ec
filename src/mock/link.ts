import net from 'node:net';
import tls from 'node:tls';

/** Per-link states as `AT+CIPSTATUS` names them (manual §12.17). */
export type LinkState = 'INITIAL' | 'CONNECTING' | 'CONNECTED' | 'REMOTE CLOSING' | 'CLOSING' | 'CLOSED';

/** What the module needs to hear from a link's host connection. */
export interface LinkListener {
  connected(link: Link): void;
  failed(link: Link, reason: string): void;
  data(link: Link, chunk: Buffer): void;
  /** The peer closed or reset; every byte it sent before was passed to `data` first. */
  peerClosed(link: Link): void;
}

export interface LinkTarget {
  host: string;
  ip: string;
  port: number;
  /** TLS options when the link is TLS (CIPSSL=1). */
  tls?: tls.ConnectionOptions | undefined;
  timeoutMs: number;
}

/** Why a host socket is not being read: pull buffer full, serial line congested, or CONNECT OK not yet reported. */
type PauseReason = 'rx' | 'line' | 'connect';

/**
 * One module link (0–5) and the real host socket behind it. Counts for `AT+CIPACK`: `sent` is what
 * the host wrote into the link, `acked` what the socket has flushed to the kernel (write callback).
 */
export class Link {
  state: LinkState = 'INITIAL';
  host = '';
  ip = '';
  port = 0;
  secure = false;
  sent = 0;
  acked = 0;
  /** Pull-mode receive buffer. */
  rx: Buffer[] = [];
  rxBytes = 0;
  /** Pull mode: a `+CIPRXGET: 1` URC is outstanding and not yet answered by a read. */
  announced = false;
  /** The peer has closed; `<n>, CLOSED` is owed once the buffer is drained. */
  peerGone = false;
  private socket: net.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly reasons = new Set<PauseReason>();
  private generation = 0;

  constructor(
    readonly id: number,
    private readonly listener: LinkListener,
  ) {}

  /** Is a host socket open (or opening)? */
  get active(): boolean {
    return this.socket !== undefined;
  }

  /** Reset counters and buffers for a new CIPSTART (manual: CIPACK counters reset on reconnect). */
  prepare(host: string, port: number, secure: boolean): void {
    this.clear(host, port, secure);
    this.state = 'CONNECTING';
  }

  /** Open the host connection; exactly one of connected/failed follows unless the link is dropped first. */
  open(target: LinkTarget): void {
    const gen = ++this.generation;
    this.ip = target.ip;
    let done = false;
    const fail = (reason: string): void => {
      if (done || gen !== this.generation) return;
      done = true;
      this.drop();
      this.listener.failed(this, reason);
    };
    const socket = target.tls
      ? tls.connect({ ...target.tls, host: target.ip, port: target.port })
      : net.connect({ host: target.ip, port: target.port });
    this.socket = socket;
    this.timer = setTimeout(() => fail('timeout'), target.timeoutMs);
    socket.on(target.tls ? 'secureConnect' : 'connect', () => {
      if (done || gen !== this.generation) return;
      done = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      socket.setNoDelay(true);
      this.listener.connected(this);
    });
    socket.on('data', (chunk: Buffer) => {
      if (gen === this.generation && done) this.listener.data(this, chunk);
    });
    const gone = (): void => {
      if (gen !== this.generation) return;
      if (!done) {
        fail('closed during connect');
        return;
      }
      this.generation++;
      this.socket = undefined;
      socket.destroy();
      this.peerGone = true;
      this.listener.peerClosed(this);
    };
    socket.on('end', gone);
    socket.on('error', (err: Error) => (done ? gone() : fail(err.message)));
    socket.on('close', gone);
    if (this.reasons.size > 0) socket.pause();
  }

  /** Write payload bytes; `onFlushed` runs when the socket has handed them to the kernel. */
  write(buf: Buffer, onFlushed?: () => void): boolean {
    const s = this.socket;
    if (!s || this.state !== 'CONNECTED') return false;
    this.sent += buf.length;
    s.write(buf, (err) => {
      if (!err) this.acked += buf.length;
      onFlushed?.();
    });
    return true;
  }

  /** Close from the module side: graceful FIN after written data (the manual's default slow close). */
  close(): void {
    const s = this.socket;
    this.generation++;
    this.socket = undefined;
    this.clearTimer();
    if (s) {
      s.removeAllListeners('data');
      s.on('error', () => {});
      s.end();
      s.destroySoon?.();
      setTimeout(() => s.destroy(), 2000).unref();
    }
    this.rx = [];
    this.rxBytes = 0;
    this.state = 'CLOSED';
  }

  /** Abort the host socket immediately (reboot, PDP loss, CIPSHUT); no URC. */
  drop(): void {
    this.generation++;
    this.clearTimer();
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      s.on('error', () => {});
      s.destroy();
    }
  }

  /** Simulate the peer closing (fault injection): same path as a real FIN. */
  peerClose(): void {
    const s = this.socket;
    if (!s) return;
    // EOF after whatever the socket already buffered, as a real FIN would arrive.
    s.push(null);
  }

  pauseFor(reason: PauseReason): void {
    this.reasons.add(reason);
    this.socket?.pause();
  }

  resumeFor(reason: PauseReason): void {
    if (!this.reasons.delete(reason)) return;
    if (this.reasons.size === 0) this.socket?.resume();
  }

  isPausedFor(reason: PauseReason): boolean {
    return this.reasons.has(reason);
  }

  /** Take up to `max` bytes from the pull buffer. */
  take(max: number): Buffer {
    const parts: Buffer[] = [];
    let n = 0;
    while (n < max && this.rx.length > 0) {
      const head = this.rx[0]!;
      const k = Math.min(max - n, head.length);
      parts.push(head.subarray(0, k));
      if (k === head.length) this.rx.shift();
      else this.rx[0] = head.subarray(k);
      n += k;
    }
    this.rxBytes -= n;
    return Buffer.concat(parts, n);
  }

  reset(): void {
    this.clear('', 0, false);
    this.state = 'INITIAL';
  }

  /** Drops the host connection and forgets everything about the previous use of this link id. */
  private clear(host: string, port: number, secure: boolean): void {
    this.drop();
    this.reasons.clear();
    this.host = host;
    this.ip = '';
    this.port = port;
    this.secure = secure;
    this.sent = 0;
    this.acked = 0;
    this.rx = [];
    this.rxBytes = 0;
    this.announced = false;
    this.peerGone = false;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
