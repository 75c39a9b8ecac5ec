import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from './serialport-types.cjs';
import type { PortEndpoint, PortOwner } from './endpoint.js';

/** Bytes the port buffers for the host before the line has to wait (like a driver's tty buffer). */
const RX_LIMIT = 64 * 1024;

interface PendingRead {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve: (v: { buffer: Buffer; bytesRead: number }) => void;
  reject: (err: Error) => void;
}

function canceled(message: string): Error {
  return Object.assign(new Error(message), { canceled: true });
}

/**
 * A `serialport` binding port backed by the mock. A pending read rejects with `canceled: true` on
 * close and with a plain error when the device is unplugged, which the stream reports as a disconnect.
 */
export class MockBindingPort implements BindingPortInterface, PortEndpoint {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  private rx: Buffer[] = [];
  private rxBytes = 0;
  private pending: PendingRead | undefined;
  private hungUp = false;
  /** The last `set()` call, for tests of modem-line handling. */
  lastSet: SetOptions | undefined;

  constructor(
    private readonly owner: PortOwner,
    options: OpenOptions,
  ) {
    this.openOptions = {
      dataBits: 8,
      lock: true,
      stopBits: 1,
      parity: 'none',
      rtscts: false,
      xon: false,
      xoff: false,
      xany: false,
      hupcl: true,
      ...options,
    };
  }

  /** The device went away under this port (it stays `isOpen` until the stream closes it). */
  get isHungUp(): boolean {
    return this.hungUp;
  }

  deliver(chunk: Buffer): boolean {
    if (!this.isOpen || this.hungUp) return true;
    this.rx.push(Buffer.from(chunk));
    this.rxBytes += chunk.length;
    this.serve();
    return this.rxBytes < RX_LIMIT;
  }

  hangUp(reason: 'unplug' | 'replaced' | 'closed'): void {
    if (this.hungUp) return;
    this.hungUp = true;
    // Not isOpen = false: the stream calls close() itself once it sees the disconnect.
    const p = this.pending;
    this.pending = undefined;
    p?.reject(
      Object.assign(new Error(`mock serial port ${reason === 'unplug' ? 'unplugged' : 'gone'}`), {
        disconnected: true,
      }),
    );
  }

  async close(): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    this.isOpen = false;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(canceled('port closed'));
    this.rx = [];
    this.rxBytes = 0;
    this.owner.detach(this);
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) return Promise.reject(canceled('port is not open'));
    if (this.hungUp)
      return Promise.reject(Object.assign(new Error('mock serial port unplugged'), { disconnected: true }));
    if (this.pending) return Promise.reject(new Error('a read is already pending'));
    return new Promise((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
      this.serve();
    });
  }

  write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) return Promise.reject(canceled('port is not open'));
    if (this.hungUp) return Promise.reject(new Error('mock serial port unplugged'));
    const copy = Buffer.from(buffer);
    return new Promise((resolve, reject) => {
      this.owner.fromHost(this, copy, (err) =>
        err && !this.isOpen ? reject(canceled(err.message)) : err ? reject(err) : resolve(),
      );
    });
  }

  async update(options: UpdateOptions): Promise<void> {
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0)
      throw new TypeError('"baudRate" must be a positive integer');
    this.openOptions.baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    this.lastSet = { ...options };
  }

  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: true };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.openOptions.baudRate };
  }

  async flush(): Promise<void> {
    this.rx = [];
    this.rxBytes = 0;
    this.owner.resumeOutput(this);
  }

  async drain(): Promise<void> {
    // write() already resolves only once the line has carried the bytes.
  }

  private serve(): void {
    const p = this.pending;
    if (!p || this.rx.length === 0) return;
    this.pending = undefined;
    let n = 0;
    while (n < p.length && this.rx.length > 0) {
      const head = this.rx[0]!;
      const k = Math.min(p.length - n, head.length);
      head.copy(p.buffer, p.offset + n, 0, k);
      if (k === head.length) this.rx.shift();
      else this.rx[0] = head.subarray(k);
      n += k;
    }
    const before = this.rxBytes;
    this.rxBytes -= n;
    if (before >= RX_LIMIT && this.rxBytes < RX_LIMIT) this.owner.resumeOutput(this);
    p.resolve({ buffer: p.buffer, bytesRead: n });
  }
}

/** Creates the `BindingInterface` that opens the mock (one open port at a time, like a real tty lock). */
export function createMockBinding(
  owner: PortOwner,
  attach: (port: MockBindingPort) => void,
  path: string,
): BindingInterface<MockBindingPort> {
  let current: MockBindingPort | undefined;
  return {
    async list(): Promise<PortInfo[]> {
      if (!owner.plugged) return [];
      return [
        {
          path,
          manufacturer: 'EigenComm',
          serialNumber: '000000000001',
          pnpId: undefined,
          locationId: undefined,
          vendorId: '19d1',
          productId: '0001',
        },
      ];
    },
    async open(options: OpenOptions): Promise<MockBindingPort> {
      if (!options || typeof options.path !== 'string' || options.path === '')
        throw new TypeError('"path" is not a valid port');
      if (!Number.isInteger(options.baudRate)) throw new TypeError('"baudRate" is not a valid integer');
      if (!owner.plugged) throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
      if (current?.isOpen && !current.isHungUp)
        throw new Error('Error Resource temporarily unavailable Cannot lock port');
      current = new MockBindingPort(owner, options);
      attach(current);
      return current;
    },
  };
}
