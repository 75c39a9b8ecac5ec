import { Duplex } from 'node:stream';
import type { PortEndpoint, PortOwner } from './endpoint.js';
import { MockError } from './errors.js';

/**
 * The host side of the mock's serial line as a Duplex. Writes complete when the simulated line has
 * carried the bytes to the module, so a fast writer feels the line's speed as backpressure.
 */
export class HostStream extends Duplex implements PortEndpoint {
  private gone = false;

  constructor(private readonly owner: PortOwner) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    this.owner.resumeOutput(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.gone) {
      cb(
        new MockError(
          'ERR_MOCK_UNPLUGGED',
          'The mock serial port is gone; get a new stream with hostStream() after replug.',
        ),
      );
      return;
    }
    this.owner.fromHost(this, chunk, (err) => cb(this.gone || !err ? null : err));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.gone = true;
    this.owner.detach(this);
    cb(err);
  }

  deliver(chunk: Buffer): boolean {
    if (this.gone || this.destroyed) return true;
    return this.push(chunk);
  }

  hangUp(reason: 'unplug' | 'replaced' | 'closed'): void {
    if (this.gone) return;
    this.gone = true;
    if (reason === 'unplug') {
      this.destroy(
        new MockError(
          'ERR_MOCK_UNPLUGGED',
          'The mock serial port was unplugged; call hostStream() again after it comes back.',
        ),
      );
    } else {
      this.push(null);
      this.destroy();
    }
  }
}
