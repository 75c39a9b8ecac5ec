import type { ModemSocket } from './socket.js';
import { ModemNotReadyError } from './errors.js';

/** @internal Settles a `AT+CIPSTART` with the link event that answered it. */
export interface ConnectWaiter {
  resolve: (result: string) => void;
  reject: (err: Error) => void;
}

/** Link ids the module offers with `AT+CIPMUX=1` (0–5). */
export const LINK_COUNT = 6;

/**
 * @internal Which socket holds each module link id, and which ids are not reusable yet.
 * Shared by allocation, the data pump and URC dispatch so they agree on who owns a link.
 */
export class LinkTable {
  readonly sockets: Array<ModemSocket | undefined> = new Array(LINK_COUNT).fill(undefined);
  /** Links whose CIPCLOSE is under way (their `CLOSE OK` is not a peer close). */
  readonly closing = new Set<number>();
  readonly connectWaiters = new Map<number, ConnectWaiter>();
  /** Pull mode: `+CIPRXGET: 1` URCs seen per link, so a read can tell that more arrived meanwhile. */
  readonly rxSeq = new Array<number>(LINK_COUNT).fill(0);
  private readonly closingDone: Array<() => void> = [];

  /** A link id neither held nor still closing on the module, or -1. */
  free(): number {
    return this.sockets.findIndex((s, i) => s === undefined && !this.closing.has(i));
  }

  /** Free link `n` if `socket` still holds it (a later connect may have taken the id meanwhile). */
  vacate(n: number, socket: ModemSocket): void {
    if (this.sockets[n] === socket) this.sockets[n] = undefined;
  }

  /** Resolves at the next finished CIPCLOSE (or when all links are failed). */
  closingSettled(): Promise<void> {
    return new Promise<void>((r) => this.closingDone.push(r));
  }

  /** The CIPCLOSE of link `n` is over: the id may be reused. */
  closed(n: number): void {
    this.closing.delete(n);
    for (const r of this.closingDone.splice(0)) r();
  }

  /** Reject pending connects and destroy every socket (`null`: a deliberate close, no error). */
  failAll(err: Error | null): void {
    for (const [n, w] of this.connectWaiters) {
      this.connectWaiters.delete(n);
      w.reject(err ?? new ModemNotReadyError('closed'));
    }
    for (let n = 0; n < LINK_COUNT; n++) {
      const s = this.sockets[n];
      this.sockets[n] = undefined;
      if (s) {
        s.linkOpen = false;
        s.destroy(err ?? undefined);
      }
    }
    this.closing.clear();
    for (const r of this.closingDone.splice(0)) r();
  }
}
