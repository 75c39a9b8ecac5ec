import type { ModemSocket } from './socket.js';
import { ModemNotReadyError } from './errors.js';
import { LINK_COUNT } from './parse.js';

/** @internal Settles a `AT+CIPSTART` with the link event that answered it. */
export interface ConnectWaiter {
  resolve: (result: string) => void;
  reject: (err: Error) => void;
}

/**
 * @internal What the host knows of one socket's module link. Every change goes through a named
 * transition below, so this class is the whole life of a link: the pump starts and ends sends and
 * reads, URC dispatch reports announced data and peer closes, the socket connects and lets go.
 */
export class LinkState {
  private isOpen = false;
  private closedByPeer = false;
  private sending = false;
  private reading = false;
  private unread = false;
  private gap = false;

  /** The module link is connected (`CONNECT OK` seen, not closed since). */
  get open(): boolean {
    return this.isOpen;
  }

  /** The peer closed the link (`<n>, CLOSED` or an unrequested `CLOSE OK`). */
  get peerClosed(): boolean {
    return this.closedByPeer;
  }

  /** A CIPSEND of this link is queued or in flight. */
  get sendInFlight(): boolean {
    return this.sending;
  }

  /** Pull mode: a CIPRXGET of this link is queued or in flight. */
  get readInFlight(): boolean {
    return this.reading;
  }

  /** Pull mode: the module holds unread bytes of this link. */
  get rxAvailable(): boolean {
    return this.unread;
  }

  /**
   * A received block of this link was cut or misaligned on the serial line (see cuts.ts): its
   * stream has a gap, so nothing received after it may be delivered.
   */
  get dataLost(): boolean {
    return this.gap;
  }

  /** The AT scanner gave up a block of this link part-way (`'cut'`). */
  receiveCut(): void {
    this.gap = true;
  }

  /** `CONNECT OK`. */
  connected(): void {
    this.isOpen = true;
  }

  /** The pump took a chunk for a CIPSEND. */
  sendStarted(): void {
    this.sending = true;
  }

  /** That CIPSEND was answered (or failed, or had nothing to send). */
  sendEnded(): void {
    this.sending = false;
  }

  /** Pull mode: `+CIPRXGET: 1,<n>`. */
  dataAnnounced(): void {
    this.unread = true;
  }

  /** The pump queued a CIPRXGET. */
  readStarted(): void {
    this.reading = true;
  }

  /** The CIPRXGET was answered; `moreLeft`: the module holds more (or announced more meanwhile). */
  readFinished(moreLeft: boolean): void {
    this.reading = false;
    this.unread = moreLeft;
  }

  /** The CIPRXGET failed. */
  readFailed(): void {
    this.reading = false;
  }

  /** The module refused a read: whatever it announced is gone. */
  unreadDiscarded(): void {
    this.unread = false;
  }

  /** The peer closed the link: no more sends; pull mode still drains what the module holds. */
  peerClose(): void {
    this.closedByPeer = true;
    this.isOpen = false;
  }

  /** The host let go of the link (CIPCLOSE sent, or not needed), or the module lost it (recovery). */
  released(): void {
    this.isOpen = false;
  }
}

/**
 * @internal Which socket holds each module link id, and which ids are not reusable yet.
 * Shared by allocation, the data pump and URC dispatch so they agree on who owns a link.
 *
 * The id reuse rule: an id is free again only once the module confirmed its link closed
 * (`CLOSE OK` to our `AT+CIPCLOSE`, `+CME ERROR: 3` to it, a `<n>, CLOSED` report, a
 * `CONNECT FAIL`, or a bearer reset). Until then it is `closing` (a CIPCLOSE under way) or
 * `unconfirmed` (the module refused the CIPCLOSE, or reported the link as still held): data the
 * module reports for it meanwhile belongs to the old peer and is dropped (traced), never given to
 * a new socket.
 */
export class LinkTable {
  readonly sockets: Array<ModemSocket | undefined> = new Array(LINK_COUNT).fill(undefined);
  /** Links whose CIPCLOSE is under way (their `CLOSE OK` is not a peer close). */
  readonly closing = new Set<number>();
  /** Links the host let go of that the module has not confirmed closed, with no CIPCLOSE under way. */
  readonly unconfirmed = new Set<number>();
  readonly connectWaiters = new Map<number, ConnectWaiter>();
  /** Pull mode: `+CIPRXGET: 1` URCs seen per link, so a read can tell that more arrived meanwhile. */
  readonly rxSeq = new Array<number>(LINK_COUNT).fill(0);
  /** Bumped by {@link failAll}: a close begun before it no longer decides about its id. */
  generation = 0;
  private readonly closingDone: Array<() => void> = [];

  /** A link id neither held, nor closing, nor waiting for the module's confirmation, or -1. */
  free(): number {
    return this.sockets.findIndex((s, i) => s === undefined && !this.closing.has(i) && !this.unconfirmed.has(i));
  }

  /** Free link `n` if `socket` still holds it (a later connect may have taken the id meanwhile). */
  vacate(n: number, socket: ModemSocket): void {
    if (this.sockets[n] === socket) this.sockets[n] = undefined;
  }

  /** The host lets go of link `n` and sends `AT+CIPCLOSE`: the id stays reserved until it is answered. */
  beginClose(n: number): void {
    this.sockets[n] = undefined;
    this.unconfirmed.delete(n);
    this.closing.add(n);
  }

  /** The host lets go of link `n`, which the module still holds (no CIPCLOSE can be sent or it was refused). */
  holdUnconfirmed(n: number): void {
    this.sockets[n] = undefined;
    this.closing.delete(n);
    this.unconfirmed.add(n);
    this.settleClosing();
  }

  /** The module confirmed link `n` closed: the id may be reused. */
  confirmClosed(n: number): void {
    this.closing.delete(n);
    this.unconfirmed.delete(n);
    this.settleClosing();
  }

  /** Resolves at the next finished CIPCLOSE (or when all links are failed). */
  closingSettled(): Promise<void> {
    return new Promise<void>((r) => this.closingDone.push(r));
  }

  private settleClosing(): void {
    for (const r of this.closingDone.splice(0)) r();
  }

  /** Reject pending connects and destroy every socket (`null`: a deliberate close, no error). */
  failAll(err: Error | null): void {
    this.generation++;
    for (const [n, w] of this.connectWaiters) {
      this.connectWaiters.delete(n);
      w.reject(err ?? new ModemNotReadyError('closed'));
    }
    for (let n = 0; n < LINK_COUNT; n++) {
      const s = this.sockets[n];
      this.sockets[n] = undefined;
      if (s) {
        s.state.released();
        s.destroy(err ?? undefined);
      }
    }
    // The bearer is reset (CIPSHUT) before anything connects again: every id is free.
    this.closing.clear();
    this.unconfirmed.clear();
    this.settleClosing();
  }
}
