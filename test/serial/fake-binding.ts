import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
} from '@serialport/bindings-cpp';

/** A scriptable in-memory port: the test feeds bytes, sees writes, and can hang the line up. */
export class FakePort implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  readonly written: Buffer[] = [];
  /** When set, write() stays pending until the test calls releaseWrite() or hangUp(). */
  holdWrites = false;
  private inbox: Buffer[] = [];
  private pendingRead: {
    buffer: Buffer;
    offset: number;
    length: number;
    resolve: (v: { buffer: Buffer; bytesRead: number }) => void;
    reject: (e: Error) => void;
  } | null = null;
  private pendingWrite: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private gone: Error | null = null;

  constructor(options: OpenOptions) {
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
    } as Required<OpenOptions>;
  }

  /** Bytes from the "device". */
  feed(bytes: Buffer): void {
    this.inbox.push(bytes);
    this.serve();
  }

  /** The device vanishes: pending and later reads/writes fail with an error that is not `canceled`. */
  hangUp(message = 'Input/output error'): void {
    this.gone = Object.assign(new Error(message), { code: 'EIO', disconnect: true });
    this.serve();
    const w = this.pendingWrite;
    this.pendingWrite = null;
    w?.reject(this.gone);
  }

  releaseWrite(): void {
    const w = this.pendingWrite;
    this.pendingWrite = null;
    w?.resolve();
  }

  get writePending(): boolean {
    return this.pendingWrite !== null;
  }

  async close(): Promise<void> {
    if (!this.isOpen) throw Object.assign(new Error('Port is not open'), { canceled: true });
    this.isOpen = false;
    const r = this.pendingRead;
    this.pendingRead = null;
    r?.reject(Object.assign(new Error('Canceled'), { canceled: true }));
    const w = this.pendingWrite;
    this.pendingWrite = null;
    w?.reject(Object.assign(new Error('Canceled'), { canceled: true }));
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) return Promise.reject(Object.assign(new Error('Port is not open'), { canceled: true }));
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
      this.serve();
    });
  }

  write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) return Promise.reject(Object.assign(new Error('Port is not open'), { canceled: true }));
    if (this.gone) return Promise.reject(this.gone);
    this.written.push(Buffer.from(buffer));
    if (!this.holdWrites) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pendingWrite = { resolve, reject };
    });
  }

  async update(): Promise<void> {}
  async set(): Promise<void> {}
  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: false };
  }
  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.openOptions.baudRate };
  }
  async flush(): Promise<void> {}
  async drain(): Promise<void> {}

  private serve(): void {
    const r = this.pendingRead;
    if (!r) return;
    const chunk = this.inbox.shift();
    if (chunk) {
      this.pendingRead = null;
      const n = Math.min(chunk.length, r.length);
      chunk.copy(r.buffer, r.offset, 0, n);
      if (n < chunk.length) this.inbox.unshift(chunk.subarray(n));
      r.resolve({ buffer: r.buffer, bytesRead: n });
    } else if (this.gone) {
      this.pendingRead = null;
      r.reject(this.gone);
    }
  }
}

/** A binding over {@link FakePort}s; `ports` holds every port it opened, `listed` what list() returns. */
export function fakeBinding(
  listed: PortInfo[] = [],
): BindingInterface & { ports: FakePort[]; failOpen: Error | undefined } {
  const binding = {
    ports: [] as FakePort[],
    failOpen: undefined as Error | undefined,
    async list() {
      return listed;
    },
    async open(options: OpenOptions) {
      if (binding.failOpen) throw binding.failOpen;
      const port = new FakePort(options);
      binding.ports.push(port);
      return port;
    },
  };
  return binding;
}
