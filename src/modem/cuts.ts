import createDebug from 'debug';
import { AtAbandonedError, AtClosedError, AtTimeoutError, type AtChannel, type AtCut, type AtResponse, type AtSendOptions } from '../at/index.js';
import { DataLostError } from './errors.js';
import type { LinkTable } from './links.js';

const debug = createDebug('air780:modem');

/** @internal What {@link BlockCuts} needs from the modem. */
export interface CutsHost {
  /** A command from the online modem (a timeout starts recovery). */
  cmd(command: string, options?: AtSendOptions): Promise<AtResponse>;
  readonly commandTimeoutMs: number;
}

/**
 * @internal Fails the link whose received block the AT scanner cut (`'cut'` event). The link's
 * stream has a gap from then on, so it delivers nothing more. A misaligned block means line noise:
 * the link fails with `ERR_DATA_LOST` at once. A block that went silent is most likely a module
 * that lost power: an `AT` probe tells the two apart. If the module answers, bytes were lost on
 * the line (`ERR_DATA_LOST`); if it restarts (`RDY`) or stays silent, recovery fails every link
 * with `ERR_MODEM_RESET` as for any reboot.
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
    const n = cut.link;
    const s = n === undefined ? undefined : this.links.sockets[n];
    if (n === undefined || !s || s.destroyed) {
      debug('cut block %s (%s) for no open link', cut.line, cut.reason);
      return;
    }
    s.dataLost = true;
    if (cut.reason === 'misaligned') {
      debug('link %d: block %s misaligned', n, cut.line);
      s.destroy(new DataLostError(n, 'misaligned'));
      return;
    }
    debug('link %d: block %s went silent after %d bytes: probing the module', n, cut.line, cut.received);
    this.host.cmd('AT', { timeoutMs: this.host.commandTimeoutMs }).then(
      () => {
        if (!s.destroyed) s.destroy(new DataLostError(n, 'silence'));
      },
      (err: Error) => {
        // RDY, no answer or a lost port: recovery fails the link with ERR_MODEM_RESET.
        if (err instanceof AtAbandonedError || err instanceof AtTimeoutError || err instanceof AtClosedError) return;
        if (!s.destroyed) s.destroy(new DataLostError(n, 'silence', { cause: err }));
      },
    );
  }
}
