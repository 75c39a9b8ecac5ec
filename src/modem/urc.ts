import createDebug from 'debug';
import { BLOCK, URC, type AtChannel, type LinkEventName } from '../at/index.js';
import type { LinkTable } from './links.js';
import { linkId } from './parse.js';

const debug = createDebug('air780:modem:link');

/**
 * @internal Routes the module's per-link URCs (link events, `+RECEIVE` data, `+CIPRXGET: 1`) to
 * the sockets holding those links and to pending connects. The AT layer's dialect table parses
 * them; this decides what they mean. A URC for a free link is traced and dropped: the module may
 * report on a link we already gave up.
 */
export class LinkUrcs {
  constructor(
    private readonly links: LinkTable,
    /** Run the data pump: a close or new data may have made work. */
    private readonly pump: () => void,
  ) {}

  /** Subscribe on `at`; returns the unsubscribers. */
  subscribe(at: AtChannel): Array<() => void> {
    return [
      at.onShape(URC.linkEvent, (f, u) => this.onLinkEvent(f.id, f.event, u.line)),
      at.onShape(BLOCK.receive, (f, u) => this.onReceive(f.id, u.data)),
      at.onShape(URC.dataWaiting, (f, u) => this.onRxAvailable(f.id, u.line)),
    ];
  }

  private onLinkEvent(id: string, what: LinkEventName, line: string): void {
    const n = linkId(id);
    if (n === undefined) return void debug('link event for no link of the module ignored: %s', line);
    if (what === 'CONNECT OK' || what === 'CONNECT FAIL' || what === 'ALREADY CONNECT') {
      const w = this.links.connectWaiters.get(n);
      if (w) {
        this.links.connectWaiters.delete(n);
        w.resolve(what);
      } else debug('unexpected %s', line);
      return;
    }
    if (what === 'CLOSED' || (what === 'CLOSE OK' && !this.links.closing.has(n))) {
      const s = this.links.sockets[n];
      if (s) s.onPeerClose();
      else if (this.links.unconfirmed.has(n)) {
        debug('%s: the module confirms the close; the id is free again', line);
        this.links.confirmClosed(n);
      } else debug('%s on a free link', line);
      this.pump();
      return;
    }
    debug('ignored link event %s', line);
  }

  private onReceive(id: string | undefined, data: Buffer | undefined): void {
    if (!data) return;
    const n = linkId(id);
    const s = n === undefined ? undefined : this.links.sockets[n];
    if (s) s.deliver(data);
    else debug('%d bytes for %s link %s dropped', data.length, n === undefined ? 'no' : 'free', id);
  }

  private onRxAvailable(id: string, line: string): void {
    const n = linkId(id);
    if (n === undefined) return void debug('data announced for no link of the module ignored: %s', line);
    this.links.rxSeq[n]!++;
    const s = this.links.sockets[n];
    if (s) {
      s.state.dataAnnounced();
      this.pump();
    }
  }
}
