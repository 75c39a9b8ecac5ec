import createDebug from 'debug';
import type { AtChannel, AtResponse, AtSendOptions } from '../at/index.js';
import { AtAbandonedError, AtBlockCutError, AtClosedError, AtCommandError, AtTimeoutError } from '../at/errors.js';
import { LinkClosedError } from './errors.js';
import type { LinkTable } from './links.js';
import { parseCipack, parseDataAccept, parseRxgetHeader } from './parse.js';
import { MAX_CHUNK, type ModemSocket } from './socket.js';

const debug = createDebug('air780:modem:pump');

/** @internal What the pump needs from the modem that owns it. */
export interface PumpHost {
  readonly rxMode: 'push' | 'pull';
  readonly commandTimeoutMs: number;
  /** Data commands go out only while the modem is online. */
  isOnline(): boolean;
  /** The current AT channel (replaced after a port reopen). */
  channel(): AtChannel;
  /**
   * A command from the online modem; a timeout starts recovery. (A CIPSEND that timed out before
   * its prompt is completed by the AT channel itself: it writes filler, never the payload.)
   */
  cmd(command: string, options?: AtSendOptions): Promise<AtResponse>;
}

/**
 * @internal The data pump: one send per link, fair across links (round robin over sends and, in
 * pull mode, reads), two commands kept queued; plus CIPACK polling for delivery trackers.
 */
export class DataPump {
  private outstanding = 0;
  private rr = 0;
  private kickPending = false;

  constructor(
    private readonly host: PumpHost,
    private readonly links: LinkTable,
  ) {}

  /**
   * All links were failed (`LinkTable.failAll`, which bumps its generation): in-flight jobs no
   * longer hold a slot; those of the older generation do not give one back when they end.
   */
  reset(): void {
    this.outstanding = 0;
  }

  /**
   * A socket has work: pump at the end of the current job (a microtask, no event-loop turn).
   * Writes made back to back in one go then share a CIPSEND instead of the first going out alone.
   */
  kickSoon(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    queueMicrotask(() => {
      this.kickPending = false;
      this.pump();
    });
  }

  pump(): void {
    // Two outstanding: one in flight, the next already queued in the channel, so the module's
    // answer is followed by the next command without a round trip through this loop.
    while (this.outstanding < 2 && this.host.isOnline()) {
      const job = this.nextJob();
      if (!job) return;
      this.outstanding++;
      const gen = this.links.generation;
      job().finally(() => {
        if (this.links.generation === gen) this.outstanding--;
        this.pump();
      });
    }
  }

  async pollAcked(socket: ModemSocket): Promise<number> {
    const r = await this.host.cmd(`AT+CIPACK=${socket.link}`, { timeoutMs: this.host.commandTimeoutMs });
    const ack = r.lines.map(parseCipack).find((x) => x !== undefined);
    if (!ack) throw new LinkClosedError(socket.link, `unexpected AT+CIPACK answer ${JSON.stringify(r.lines)}`);
    return ack.acked;
  }

  private nextJob(): (() => Promise<void>) | undefined {
    const pull = this.host.rxMode === 'pull';
    const links = this.links.sockets;
    // Two slots per link (send, read), so a link with both gets no more turns than one with one.
    const slots = links.length * 2;
    for (let i = 0; i < slots; i++) {
      const slot = (this.rr + i) % slots;
      const n = slot >> 1;
      const s = links[n];
      if (!s || s.destroyed) continue;
      if ((slot & 1) === 0) {
        if (s.state.open && !s.state.sendInFlight && s.txBytes > 0) {
          this.rr = slot + 1;
          s.state.sendStarted();
          return () => this.doSend(s, n);
        }
      } else if (pull && s.state.rxAvailable && !s.state.readInFlight && s.wantsData()) {
        this.rr = slot + 1;
        s.state.readStarted();
        return () => this.doRead(s, n);
      }
    }
    return undefined;
  }

  private async doSend(s: ModemSocket, n: number): Promise<void> {
    const chunk = s.takeChunk(MAX_CHUNK);
    if (!chunk) {
      s.state.sendEnded();
      return;
    }
    try {
      const r = await this.host.cmd(`AT+CIPSEND=${n},${chunk.length}`, {
        payload: chunk,
        timeoutMs: this.host.commandTimeoutMs,
      });
      s.state.sendEnded();
      // `DATA ACCEPT:<n>,<count>` says how much the module took; `SEND OK` means all of it.
      const accepted = parseDataAccept(r.final) ?? chunk.length;
      if (accepted < chunk.length) s.onPartlySent(accepted, chunk.subarray(accepted));
      else s.onSent(chunk.length);
    } catch (err) {
      s.state.sendEnded();
      this.sendFailed(s, n, chunk.length, err as Error);
    }
  }

  /**
   * Every failed send settles its socket: `_final` waits on `sendInFlight`, so a failure nobody
   * acts on leaves the socket open forever and its bytes dropped. Only a link still held by the
   * socket is left to recovery on a timeout (recovery fails the sockets it holds); a link the peer
   * already closed (`<n>, CLOSED` arrived while the send was in flight, so the slot was released)
   * is no longer among them. After a peer close — reported, or in pull mode withheld by the module
   * while it still holds the peer's data — the socket fails only its writable side and still
   * delivers what the peer sent before its FIN (`onSendLost`).
   */
  private sendFailed(s: ModemSocket, n: number, len: number, err: Error): void {
    const held = this.links.sockets[n] === s;
    if (held && recoveryFails(err)) return;
    if (held && !s.state.peerClosed && !(err instanceof AtCommandError && s.holdsUnread())) {
      this.linkCommandFailed(s, n, err, 'send');
      return;
    }
    debug('link %d send of %d bytes failed after the link closed: %s', n, len, err.message);
    s.onSendLost(len, err);
  }

  private async doRead(s: ModemSocket, n: number): Promise<void> {
    const seq = this.links.rxSeq[n];
    try {
      const r = await this.host.cmd(`AT+CIPRXGET=2,${n},${MAX_CHUNK}`, { timeoutMs: this.host.commandTimeoutMs });
      const hdr = [...r.lines, r.final].map(parseRxgetHeader).find((x) => x !== undefined);
      // A URC during the read means more arrived: read again even if `left` said 0.
      s.state.readFinished((hdr?.left ?? 0) > 0 || this.links.rxSeq[n] !== seq);
      const data = r.data ?? Buffer.alloc(0);
      if (data.length > 0) s.deliver(data);
      if (!s.state.rxAvailable) s.maybeEndPull();
    } catch (err) {
      s.state.readFailed();
      if (err instanceof AtCommandError && this.links.sockets[n] === s) s.onReadRefused(err);
      else this.linkCommandFailed(s, n, err as Error, 'read');
    } finally {
      s.readSettled();
    }
  }

  private linkCommandFailed(s: ModemSocket, n: number, err: Error, what: string): void {
    if (recoveryFails(err)) return;
    // A cut read block: the channel's 'cut' event fails the link with the right error (cuts.ts).
    if (err instanceof AtBlockCutError) return;
    if (this.links.sockets[n] !== s) return;
    debug('link %d %s failed: %s', n, what, err.message);
    // The link is still open on the module: destroying the socket CIPCLOSEs it, and its id stays
    // reserved until the module confirms the close.
    s.destroy(new LinkClosedError(n, `the module refused a ${what}`, { cause: err }));
  }
}

/** The channel failed rather than the link: recovery fails the sockets it holds, with its reason. */
function recoveryFails(err: unknown): boolean {
  return err instanceof AtTimeoutError || err instanceof AtClosedError || err instanceof AtAbandonedError;
}
