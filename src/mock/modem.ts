import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { BindingInterface } from './serialport-types.cjs';
import createDebug from 'debug';
import { createMockBinding, type MockBindingPort } from './binding.js';
import type { PortEndpoint, PortOwner } from './endpoint.js';
import { MockError } from './errors.js';
import { applyFaultSpec, type FaultTarget } from './faults.js';
import { BlockFaulter, type BlockFault } from './block-fault.js';
import { HostStream } from './host-stream.js';
import { SerialLine } from './line.js';
import { AtModule } from './module.js';
import { resolveOptions, type MockModemOptions, type ResolvedOptions } from './options.js';
import { servePty, type ServedPty } from './pty.js';
import { Transcript, type MockTranscriptEntry } from './transcript.js';

const log = createDebug('air780:mock');

/** Host bytes the line accepts ahead of the module before a writer has to wait. */
const UPLINK_HIGH_WATER = 64 * 1024;

/**
 * A mock Air780E: speaks the AT dialect of air780e-at.md, bridges each link to a real TCP/TLS
 * connection on the host, and simulates the serial line (baud rate, chunked delivery, latency).
 *
 * Reach it in process with {@link hostStream} or {@link binding}, or as a real serial device with
 * {@link servePty}. Only one host is attached at a time, as on a tty.
 *
 * Events: 'unplug', 'replug', 'attach' (a host endpoint took the port).
 */
export class MockModem extends EventEmitter implements PortOwner, FaultTarget {
  /** The path the binding reports in `list()` (any path opens the mock). */
  static readonly BINDING_PATH = '/dev/mock-air780e';
  private readonly opts: ResolvedOptions;
  private readonly log: Transcript;
  private readonly up: SerialLine;
  private readonly down: SerialLine;
  private readonly module: AtModule;
  private endpoint: PortEndpoint | undefined;
  private isPlugged = true;
  private closed = false;
  private replugTimer: NodeJS.Timeout | undefined;
  private readonly ptys = new Set<ServedPty>();
  private bindingInstance: BindingInterface<MockBindingPort> | undefined;
  private readonly t0 = performance.now();
  private readonly blockFaults = new BlockFaulter();

  /** A module with the given options, ready for AT; reach it through `hostStream()`, `binding()` or `servePty()`. */
  constructor(options: MockModemOptions = {}) {
    super();
    this.opts = resolveOptions(options);
    this.log = new Transcript(
      this.opts.transcriptMaxEntries,
      this.opts.transcriptMaxBytes,
      () => performance.now() - this.t0,
    );
    const line = (highWater: number) =>
      new SerialLine({
        baudRate: this.opts.baudRate,
        chunkMs: this.opts.lineChunkMs,
        chunkBytes: this.opts.lineChunkBytes,
        highWater,
        lowWater: Math.floor(highWater / 2),
      });
    this.up = line(UPLINK_HIGH_WATER);
    this.down = line(this.opts.lineHighWater);
    this.module = new AtModule(
      this.opts,
      {
        write: (buf) => {
          this.log.sent(buf);
          this.down.write(this.blockFaults.apply(buf));
        },
        queued: () => this.down.queuedBytes,
        resumeInput: () => this.up.resume(),
      },
      this.log,
    );
    this.up.setSink((chunk) => this.module.receive(chunk));
    this.down.setSink((chunk) => (this.endpoint ? this.endpoint.deliver(chunk) : true));
    this.down.on('drain', () => this.module.outputDrained());
  }

  /** Every command received and every byte sent, oldest first (bounded: see `transcriptMaxBytes`). */
  get transcript(): MockTranscriptEntry[] {
    return this.log.entries;
  }

  /** Everything the module sent that the transcript still holds, as latin1 text. */
  sentText(): string {
    return this.log.sentText();
  }

  /** The command lines received that the transcript still holds. */
  commands(): string[] {
    return this.log.commands();
  }

  /** Forget the transcript so far (e.g. between test steps). */
  clearTranscript(): void {
    this.log.clear();
  }

  /** Is the device present (false between `unplug()` and replug)? */
  get plugged(): boolean {
    return this.isPlugged;
  }

  /** A link's state as `AT+CIPSTATUS` would name it ('INITIAL', 'CONNECTED', ...). */
  linkState(link: number): string | undefined {
    return this.module.linkState(link);
  }

  // ------------------------------------------------------------ ways in

  /**
   * The host side of the serial line as a Duplex. A new call takes the port from the previous
   * stream (which ends). Throws `ERR_MOCK_UNPLUGGED` while unplugged.
   */
  hostStream(): Duplex {
    this.assertOpen();
    if (!this.isPlugged)
      throw new MockError(
        'ERR_MOCK_UNPLUGGED',
        'The mock serial port is unplugged; wait for the "replug" event, then call hostStream() again.',
      );
    const s = new HostStream(this);
    this.attach(s);
    return s;
  }

  /** A `serialport` binding: `new SerialPortStream({ binding: mock.binding(), path, baudRate })`. */
  binding(): BindingInterface<MockBindingPort> {
    this.assertOpen();
    this.bindingInstance ??= createMockBinding(this, (port) => this.attach(port), MockModem.BINDING_PATH);
    return this.bindingInstance;
  }

  /**
   * Serve the mock on a pty (python3 relay). `linkPath`, if given, becomes a symlink to the pty
   * slave and keeps pointing at the new slave after an unplug/replug.
   */
  async servePty(linkPath?: string): Promise<{ path: string; close(): Promise<void> }> {
    this.assertOpen();
    const served = await servePty(this, (ep) => this.attach(ep), linkPath);
    this.ptys.add(served);
    return {
      path: served.path,
      close: async () => {
        this.ptys.delete(served);
        await served.close();
      },
    };
  }

  // ------------------------------------------------------------ faults

  /**
   * Reboot: links dropped, state and echo reset; `RDY` and boot URCs after `delayMs`. By default
   * what the module had already written still reaches the host in full; with `cut` the output
   * stops at once, mid-block if need be, as when a real module loses power.
   */
  reboot(options: { delayMs?: number; cut?: boolean } = {}): void {
    log('fault: reboot%s', options.cut ? ' (cut)' : '');
    if (options.cut) {
      this.down.clear(new MockError('ERR_MOCK_REBOOT', 'the module lost power'));
      this.blockFaults.disarm();
    }
    this.module.reboot(options.delayMs ?? this.opts.rebootDelayMs);
  }

  /**
   * Line noise inside the next received-data block (`+RECEIVE`, `+CIPRXGET: 2`, `+IPD`): `drop`
   * bytes vanish from its middle, or the `insert` bytes appear there. Its announced length then
   * disagrees with its bytes.
   */
  corruptNextBlock(fault: BlockFault): void {
    log('fault: next block %s', 'drop' in fault ? `drops ${fault.drop} bytes` : `gains ${fault.insert.length} bytes`);
    this.blockFaults.arm(fault);
  }

  /**
   * Bearer lost: `+PDP: DEACT`; links unusable until `AT+CIPSHUT`. `reportLinksFirst`: connected
   * links are reported `<n>, CLOSED` just before the `+PDP: DEACT` (as some firmware does).
   */
  deactivatePdp(options: { reportLinksFirst?: boolean } = {}): void {
    log('fault: pdp deact');
    this.module.deactivatePdp(options.reportLinksFirst ?? false);
  }

  /** The next command line starting with `prefix` (e.g. `AT+CIPSEND=0`) is answered `final` and not run. */
  refuseNext(prefix: string, final: string): void {
    this.module.faults.refuse(prefix, final);
  }

  /** The next `AT+CIPSEND` shows its `> ` prompt `ms` late; bytes the host writes meanwhile become its payload. */
  delayNextPrompt(ms: number): void {
    this.module.faults.delayPrompt(ms);
  }

  /** The next `AT+CIPSEND` takes its whole payload off the line but accepts and sends only its first `bytes`. */
  acceptNextPartially(bytes: number): void {
    this.module.faults.acceptPartially(bytes);
  }

  /** The server side of `link` closes (after any data it already sent). */
  closePeer(link: number): void {
    log('fault: peer close %d', link);
    this.module.closePeer(link);
  }

  /** Put bytes on the module → host line, as electrical noise would. */
  injectNoise(bytes: Buffer): void {
    log('fault: %d noise bytes', bytes.length);
    this.log.sent(bytes);
    this.down.write(Buffer.from(bytes));
  }

  /** Drop the next final result code (OK, ERROR, SEND OK, SHUT OK, ...). */
  swallowNextFinal(): void {
    this.module.swallowNextFinal();
  }

  /** The signal `AT+CSQ` reports from now on (rssi 0–31, 99 unknown), as a fading or recovering cell would. */
  setSignal(rssi: number): void {
    if (!Number.isInteger(rssi) || rssi < 0 || (rssi > 31 && rssi !== 99))
      throw new RangeError(`rssi must be 0-31 or 99, got ${rssi}`);
    log('signal: rssi %d', rssi);
    this.opts.rssi = rssi;
  }

  /** Answer nothing for `ms`. */
  stall(ms: number): void {
    log('fault: stall %d ms', ms);
    this.module.stall(ms);
  }

  /**
   * The serial device vanishes: the host stream errors (`ERR_MOCK_UNPLUGGED`), a binding port hangs
   * up, a pty closes. The module loses power. With `replugAfterMs` it comes back on its own.
   */
  unplug(options: { replugAfterMs?: number } = {}): void {
    this.assertOpen();
    if (!this.isPlugged) return;
    log('fault: unplug');
    this.isPlugged = false;
    const ep = this.endpoint;
    this.endpoint = undefined;
    const err = new MockError('ERR_MOCK_UNPLUGGED', 'serial port unplugged');
    this.down.clear(err);
    this.up.clear(err);
    this.module.powerOff();
    ep?.hangUp('unplug');
    this.emit('unplug');
    if (options.replugAfterMs !== undefined) {
      this.replugTimer = setTimeout(() => {
        this.replugTimer = undefined;
        this.replug();
      }, options.replugAfterMs);
    }
  }

  /** The device comes back (boots; a served pty reappears at the same link path). */
  replug(): void {
    if (this.closed || this.isPlugged) return;
    if (this.replugTimer) clearTimeout(this.replugTimer);
    this.replugTimer = undefined;
    log('fault: replug');
    this.isPlugged = true;
    this.module.powerOn(this.opts.rebootDelayMs);
    this.emit('replug');
  }

  /** Apply fault lines such as "reboot", "reboot cut 2000", "pdp", "close 0", "noise 32", "drop 3", "insert 5", "swallow", "stall 2000", "unplug 1500". */
  applyFault(spec: string): void {
    applyFaultSpec(this, spec);
  }

  /** Stop everything: links, timers, the attached host, served ptys. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.replugTimer) clearTimeout(this.replugTimer);
    const ep = this.endpoint;
    this.endpoint = undefined;
    // The host hangs up first: writes still on the line then complete quietly (the bytes went
    // nowhere, as on a port whose device is gone) instead of failing the stream with 'error' after
    // its owner stopped listening.
    ep?.hangUp('closed');
    this.module.destroy();
    this.up.destroy();
    this.down.destroy();
    await Promise.all([...this.ptys].map((p) => p.close()));
    this.ptys.clear();
  }

  // ------------------------------------------------------------ PortOwner

  /** @internal */
  fromHost(ep: PortEndpoint, buf: Buffer, cb: (err?: Error) => void): void {
    if (ep !== this.endpoint || !this.isPlugged) {
      cb(new MockError('ERR_MOCK_UNPLUGGED', 'this endpoint no longer holds the mock serial port'));
      return;
    }
    this.up.write(buf, cb);
  }

  /** @internal */
  resumeOutput(ep: PortEndpoint): void {
    if (ep === this.endpoint) this.down.resume();
  }

  /** @internal */
  detach(ep: PortEndpoint): void {
    if (ep !== this.endpoint) return;
    this.endpoint = undefined;
    this.down.resume();
  }

  private attach(ep: PortEndpoint): void {
    const old = this.endpoint;
    this.endpoint = ep;
    this.down.resume();
    if (old && old !== ep) old.hangUp('replaced');
    this.emit('attach');
  }

  private assertOpen(): void {
    if (this.closed) throw new MockError('ERR_MOCK_CLOSED', 'This MockModem was closed; create a new one.');
  }
}
