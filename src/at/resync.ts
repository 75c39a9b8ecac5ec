/**
 * Keeping the AT channel in step after a command it gave up on (timed out, or abandoned when the
 * module restarted): the late final that may still come must never reach the next command, and a
 * prompt that may still open must get filler, never the application's payload.
 */
import createDebug from 'debug';
import { isErrorFinal, standardFinal, type FinalMatcher } from './finals.js';

const log = createDebug('air780:at');

/** The orphan of a resync restarted by {@link Resync.restart}: see there. */
const LATE_OK: FinalMatcher = (line) => (line === 'OK' ? 'final' : undefined);

/** Invalid on purpose: its `ERROR` tells the resync's answers apart from a late `OK`. */
const SYNC_PROBE = 'AT+A780SYNC';

const CR = Buffer.from('\r');

/**
 * A given-up command whose final may still arrive. `filled`: it timed out waiting for its `> `
 * prompt and the filler went out in place of its payload, so a late prompt is expected (and gets
 * nothing more). The payload itself is never kept: once its command was given up, no prompt can
 * legitimately ask for it.
 */
interface Orphan {
  matcher: FinalMatcher;
  open: boolean;
  filled: boolean;
  command: string;
}

/** What the resync needs from its channel. */
export interface ResyncHost {
  readonly name: string;
  write(buf: Buffer, what: 'sync' | 'filler'): void;
  /** The resync finished (or was restarted): the queue may go on. */
  pump(): void;
  /** The module did not answer a probe within `ms`: fail the command waiting behind the resync. */
  probeUnanswered(ms: number): void;
}

/**
 * After a given-up command the module may still send that command's final result (at most one,
 * and before the answer to anything written later, as the module answers in order). `AT` is sent;
 * an error-class line before its OK can only be that late final. If the late final could itself
 * be `OK`, the first OK is ambiguous, so an invalid probe follows: its ERROR can only be the
 * probe's, and every OK before it belongs to earlier commands. Then the channel is clean.
 */
export class Resync {
  private orphan: Orphan | undefined;
  private run: { phase: 1 | 2; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly host: ResyncHost,
    private readonly timeoutMs: number,
  ) {}

  /** A command was given up: the next command must wait for a resync. */
  get needed(): boolean {
    return this.orphan !== undefined;
  }

  /** A resync is under way (nothing else may be written). */
  get running(): boolean {
    return this.run !== undefined;
  }

  /**
   * The channel stopped waiting for `command`. `promptBytes`: it timed out before its `> ` prompt
   * with a payload of that length. The module may still show the prompt and then takes the next
   * bytes on the line as the payload, whatever they are: the application's payload written then
   * could hold `AT` commands (remote data run as commands), and our own resync `AT` would vanish
   * into it. So exactly one thing goes into that prompt, now: as many spaces as the payload's
   * length, then CR. With a late prompt the spaces are the payload (the link is being recovered
   * anyway) and the CR an empty line; without one, the whole is a blank line the module ignores,
   * and the resync `AT` after it still starts a line (firmware before V1122 ignores an `AT` that
   * does not). A command that timed out after its payload went out needs nothing: the module has
   * its bytes. `finalSeen`: its final already came (`AT+CIPSTATUS`' OK-first answer): nothing is
   * outstanding.
   */
  gaveUp(command: string, matcher: FinalMatcher, options: { promptBytes?: number; finalSeen?: boolean } = {}): void {
    const filled = options.promptBytes !== undefined;
    if (filled) {
      log(
        '[%s] %s timed out before its prompt: %d bytes of filler in place of its payload',
        this.host.name,
        command,
        options.promptBytes,
      );
      this.host.write(Buffer.concat([Buffer.alloc(options.promptBytes!, 0x20), CR]), 'filler');
    }
    if (!options.finalSeen) this.orphan = { matcher, open: true, filled, command };
  }

  /** Start the resync: the next command is waiting. */
  start(): void {
    this.run = { phase: 1, timer: setTimeout(() => this.onTimeout(), this.timeoutMs) };
    this.host.write(Buffer.from('AT\r'), 'sync');
  }

  /**
   * The module restarted during a resync: its probe was most likely lost, and waiting out its
   * timeout would fail the next command. The lost probe, or an earlier orphan, may be answered
   * after all. Phase 1 absorbs any error line; an orphan that takes only `OK` makes the first OK
   * ambiguous, so phase 2 (which absorbs every OK until its probe's ERROR) always runs: any number
   * of late finals is safe. Returns false when no resync was running.
   */
  restart(reason: string): boolean {
    if (!this.run) return false;
    log('[%s] resync restarted: %s', this.host.name, reason);
    clearTimeout(this.run.timer);
    this.run = undefined;
    this.orphan = { matcher: LATE_OK, open: true, filled: false, command: 'AT' };
    this.host.pump();
    return true;
  }

  /** The channel closed. */
  stop(): void {
    if (this.run) clearTimeout(this.run.timer);
    this.run = undefined;
  }

  /** A line from the module; true when the resync consumed it (a late final, a probe's answer). */
  line(line: string): boolean {
    if (this.run) return this.runLine(line);
    const o = this.orphan;
    if (o && this.orphanAccepts(line)) {
      log('[%s] late final of timed-out %s discarded: %s', this.host.name, o.command, line);
      o.open = false;
      return true;
    }
    return false;
  }

  /** A `> ` no command is waiting for; true when it is the expected late prompt of a filled orphan. */
  prompt(): boolean {
    const o = this.orphan;
    if (!o?.open || !o.filled) return false;
    // The filler written at the timeout is on the line already and becomes its payload. Nothing
    // else may go in.
    log('[%s] late prompt for timed-out %s: the filler already written completes it', this.host.name, o.command);
    o.filled = false;
    return true;
  }

  private onTimeout(): void {
    this.run = undefined;
    // The unanswered probe is the one outstanding final now.
    this.orphan = { matcher: standardFinal, open: true, filled: false, command: 'AT' };
    this.host.probeUnanswered(this.timeoutMs);
  }

  private finish(): void {
    if (this.run) clearTimeout(this.run.timer);
    this.run = undefined;
    this.orphan = undefined;
    log('[%s] resync complete', this.host.name);
    this.host.pump();
  }

  private orphanAccepts(line: string): boolean {
    const o = this.orphan;
    if (!o?.open) return false;
    const v = o.matcher(line);
    return v === 'final' || v === 'error' || v === 'await';
  }

  private runLine(line: string): boolean {
    const r = this.run!;
    const o = this.orphan;
    if (r.phase === 1) {
      if (line === 'OK') {
        if (this.orphanAccepts(line)) {
          o!.open = false;
          r.phase = 2;
          this.host.write(Buffer.from(`${SYNC_PROBE}\r`), 'sync');
        } else {
          this.finish();
        }
        return true;
      }
      if (this.orphanAccepts(line)) {
        log('[%s] late final of timed-out %s discarded: %s', this.host.name, o!.command, line);
        o!.open = false;
        return true;
      }
      if (isErrorFinal(line)) return true; // `AT` cannot fail: a stray late result
      return false;
    }
    if (line === 'OK') return true;
    if (isErrorFinal(line)) {
      this.finish();
      return true;
    }
    return false;
  }
}
