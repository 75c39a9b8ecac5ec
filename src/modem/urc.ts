import createDebug from 'debug';
import type { AtChannel } from '../at/index.js';
import type { LinkTable } from './links.js';
import { LINK_EVENT_RE, RECEIVE_URC_RE, RXGET_URC_RE, linkId } from './parse.js';

const debug = createDebug('air780:modem:link');

/**
 * @internal Routes the module's per-link URCs (link events, `+RECEIVE` data, `+CIPRXGET: 1`) to
 * the sockets holding those links and to pending connects. A URC for a free link is traced and
 * dropped: the module may report on a link we already gave up.
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
      at.onUrc(LINK_EVENT_RE, (u) => this.onLinkEvent(u.line)),
      at.onUrc(RECEIVE_URC_RE, (u) => this.onReceive(u.line, u.data)),
      at.onUrc(RXGET_URC_RE, (u) => this.onRxAvailable(u.line)),
    ];
  }

  private onLinkEvent(line: string): void {
    const m = LINK_EVENT_RE.exec(line);
    if (!m) return;
    const n = linkId(m[1]);
    if (n === undefined) return void debug('link event for no link of the module ignored: %s', line);
    const what = m[2]!;
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

  private onReceive(line: string, data: Buffer | undefined): void {
    const m = RECEIVE_URC_RE.exec(line);
    if (!m || !data) return;
    const n = linkId(m[1]);
    const s = n === undefined ? undefined : this.links.sockets[n];
    if (s) s.deliver(data);
    else debug('%d bytes for %s link %s dropped', data.length, n === undefined ? 'no' : 'free', m[1]);
  }

  private onRxAvailable(line: string): void {
    const m = RXGET_URC_RE.exec(line);
    if (!m) return;
    const n = linkId(m[1]);
    if (n === undefined) return void debug('data announced for no link of the module ignored: %s', line);
    this.links.rxSeq[n]!++;
    const s = this.links.sockets[n];
    if (s) {
      s.state.dataAnnounced();
      this.pump();
    }
  }
}
