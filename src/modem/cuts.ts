import createDebug from 'debug';
import {
  AtAbandonedError,
  AtClosedError,
  AtTimeoutError,
  type AtChannel,
  type AtCut,
  type AtResponse,
  type AtSendOptions,
} from '../at/index.js';
import { DataLostError } from './errors.js';
import type { LinkTable } from './links.js';

const debug = createDebug('air780:modem:cuts');

/** @internal What {@link BlockCuts} needs from the modem. */
export interface CutsHost {
  /** A command from the online modem (a timeout starts recovery). */
  cmd(command: string, options?: AtSendOptions): Promise<AtResponse>;
  readonly commandTimeoutMs: number;
  /** The module restarted without a `RDY` we could read (it was inside the cut block): recover as for one. */
  rebooted(): void;
}

/**
 * @internal Fails the link whose received block the AT scanner cut (`'cut'` event). The link's
 * stream has a gap from then on, so it delivers nothing more. Was it line noise, or did the module
 * restart? A probe decides: `AT+CIPMUX?` still `1` (bring-up's setting) means the module kept its
 * state and bytes were lost on the line: `ERR_DATA_LOST`. A module that restarts (`RDY`) or stays
 * silent is left to recovery, which fails every link with `ERR_MODEM_RESET`; one that answers
 * `0` restarted with its `RDY` inside the cut block (a reset faster than the silence bound), so
 * recovery is started here.
 */
export class BlockCuts {
  constructor(
    private readonly links: LinkTable,
    private readonly host: CutsHost,
  ) {}

  /** Subscribe on `at`; returns the unsubscriber. */
  subscribe(at: AtChannel): () => void {
    const onCut = (cut: AtCut): void => this.onCut(cut);
    at.on('cut', onCut);
    return () => at.off('cut', onCut);
  }

  private onCut(cut: AtCut): void {
    const n = cut.link ?? -1;
    // Even with no socket to fail, the probe runs: the cut block may have swallowed a RDY.
    const s = this.links.sockets[n];
    s?.state.receiveCut();
    debug('link %d: block %s cut (%s) after %d bytes: probing the module', n, cut.line, cut.reason, cut.received);
    this.host.cmd('AT+CIPMUX?', { timeoutMs: this.host.commandTimeoutMs }).then(
      (r) => {
        const mux = r.lines.map((l) => /^\+CIPMUX: ?(\d)$/.exec(l)?.[1]).find((x) => x !== undefined);
        if (mux === '0') {
          debug('link %d: the module lost its settings: it restarted', n);
          this.host.rebooted();
        }
        if (s && !s.destroyed) s.destroy(new DataLostError(n, cut.reason));
      },
      (err: Error) => {
        // RDY, no answer or a lost port: recovery fails the link with ERR_MODEM_RESET.
        if (err instanceof AtAbandonedError || err instanceof AtTimeoutError || err instanceof AtClosedError) return;
        if (s && !s.destroyed) s.destroy(new DataLostError(n, cut.reason, { cause: err }));
      },
    );
  }
}
