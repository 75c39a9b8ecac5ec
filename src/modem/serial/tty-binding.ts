/**
 * A serialport binding whose reads and writes cannot stall each other.
 *
 * Why this exists: `@serialport/bindings-cpp` 13 waits for readiness with one `uv_poll_t` per port,
 * and `Poller::poll()` (src/poller.cpp) re-arms it with only the newly requested events. While a
 * write waits for WRITABLE, a pending READABLE wait is dropped (and the reverse), so full-duplex bulk
 * traffic stalls intermittently (measured: 5 of 12 runs of 10 MiB each way through a pty pair). On a
 * UART at 115200 baud without flow control a delayed read can overflow the kernel buffer.
 *
 * Why this approach (and not patching poller.cpp at install): a patched native build needs a
 * compiler on every user's machine and npm 11 blocks dependency install scripts unless approved.
 * Here the native binding still opens the port (termios setup, `flock` lock, modem lines, drain,
 * flush, baud-rate updates: all device-wide, so any file description of the tty will do), but the
 * bytes move through a Node `tty.ReadStream`, i.e. libuv's ordinary stream machinery, whose epoll
 * watcher keeps read and write interest independently.
 *
 * How the tty handle gets its own file description: `uv_tty_init` reopens a tty that is not a pty
 * master by its `ttyname()` (a pty slave, /dev/ttyACM*, /dev/ttyUSB* all qualify), makes the new
 * description non-blocking, `dup2`s it over the fd it was given and keeps the new fd for itself.
 * We hand it a throw-away fd of our own (not the binding's), so the description the native binding
 * opened, and with it the `flock`, survives. If libuv could not reopen (the handle kept our fd), it
 * would fall back to blocking writes that busy-loop on a non-blocking fd: we refuse that case.
 *
 * End of the line: a pty slave whose master closed reads EIO or EOF, an unplugged USB tty reads
 * EOF and writes EIO. Both end the socket; every pending and later `read()`/`write()` then rejects
 * with an error without `canceled`, which the stream above turns into a disconnect.
 */
import fs from 'node:fs';
import type net from 'node:net';
import type { DuplexOptions } from 'node:stream';
import tty from 'node:tty';
import { promisify } from 'node:util';
import createDebug from 'debug';
import bindingsCpp from '@serialport/bindings-cpp';
import type {
  BindingInterface,
  BindingPortInterface,
  LinuxOpenOptions,
  LinuxPortBinding,
  LinuxPortStatus,
  LinuxSetOptions,
  PortInfo,
  UpdateOptions,
} from '@serialport/bindings-cpp';

const debug = createDebug('air780:modem:serial');
const fsOpen = promisify(fs.open);
const fsClose = promisify(fs.close);

/** Upper bound of bytes the tty socket buffers before it stops reading the fd (backpressure). */
const SOCKET_HIGH_WATER_MARK = 64 * 1024;

/** An error a binding reports; `canceled: true` means "the port was closed", anything else a disconnect. */
export interface BindingError extends Error {
  canceled?: boolean;
  disconnect?: boolean;
  code?: string;
}

function canceled(message: string): BindingError {
  const err: BindingError = new Error(message);
  err.canceled = true;
  return err;
}

function disconnect(message: string, cause?: unknown): BindingError {
  const err: BindingError = new Error(message, cause === undefined ? undefined : { cause });
  err.disconnect = true;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') err.code = code;
  return err;
}

interface PendingRead {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve(value: { buffer: Buffer; bytesRead: number }): void;
  reject(err: BindingError): void;
}

/**
 * One open port: the native binding's port for control, a `tty.ReadStream` (a full-duplex
 * `net.Socket` over a libuv tty handle) for the bytes.
 */
export class TtyPortBinding implements BindingPortInterface {
  readonly openOptions: Required<LinuxOpenOptions>;
  private readonly control: LinuxPortBinding;
  private readonly socket: tty.ReadStream;
  private open = true;
  /** Set once the line is gone; every later read/write rejects with it. */
  private failure: BindingError | null = null;
  private leftover: Buffer | null = null;
  private pendingRead: PendingRead | null = null;
  private writeOperation: Promise<void> | null = null;

  /** @internal Use {@link TtyBinding.open}. */
  constructor(control: LinuxPortBinding, socket: tty.ReadStream) {
    this.control = control;
    this.openOptions = control.openOptions;
    this.socket = socket;
    socket.on('readable', () => this.serveRead());
    socket.on('end', () => this.fail(disconnect('the serial line reached end of file')));
    socket.on('error', (err: Error) => this.fail(disconnect(`serial I/O error: ${err.message}`, err)));
    socket.on('close', () => this.fail(disconnect('the serial line closed')));
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Resolves with at least one byte; rejects `canceled` on close, otherwise on disconnect. */
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!Buffer.isBuffer(buffer)) return Promise.reject(new TypeError('"buffer" is not a Buffer'));
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 1 ||
      buffer.length < offset + length
    ) {
      return Promise.reject(
        new RangeError(`read(offset ${offset}, length ${length}) does not fit a buffer of ${buffer.length} bytes`),
      );
    }
    if (!this.open) return Promise.reject(canceled('Port is not open'));
    if (this.pendingRead) return Promise.reject(new Error('a read is already pending'));
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
      this.serveRead();
    });
  }

  /** Resolves once the operating system accepted every byte. */
  write(buffer: Buffer): Promise<void> {
    if (!Buffer.isBuffer(buffer)) return Promise.reject(new TypeError('"buffer" is not a Buffer'));
    if (!this.open) return Promise.reject(canceled('Port is not open'));
    if (this.failure) return Promise.reject(this.failure);
    if (buffer.length === 0) return Promise.resolve();
    const op = new Promise<void>((resolve, reject) => {
      this.socket.write(buffer, (err) => {
        // Node calls a pending write's callback *without* an error once the socket is destroyed,
        // though the bytes never left: treat that as a failed write, never as a success.
        if (!err && !this.socket.destroyed) resolve();
        else if (this.failure) reject(this.failure);
        else if (!this.open) reject(canceled('Port was closed with a write in flight'));
        else {
          const failure = disconnect(
            `serial write failed: ${err?.message ?? 'the stream was destroyed'}`,
            err ?? undefined,
          );
          this.fail(failure);
          reject(failure);
        }
      });
    });
    this.writeOperation = op.catch(() => undefined);
    return op;
  }

  async update(options: UpdateOptions): Promise<void> {
    this.assertOpen();
    await this.control.update(options);
  }

  async set(options: LinuxSetOptions): Promise<void> {
    this.assertOpen();
    await this.control.set(options);
  }

  async get(): Promise<LinuxPortStatus> {
    this.assertOpen();
    return this.control.get();
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    this.assertOpen();
    return this.control.getBaudRate();
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.leftover = null;
    await this.control.flush();
  }

  /** Waits for the write in flight, then for the kernel to transmit everything (tcdrain). */
  async drain(): Promise<void> {
    this.assertOpen();
    await this.writeOperation;
    await this.control.drain();
  }

  async close(): Promise<void> {
    if (!this.open) throw canceled('Port is not open');
    this.open = false;
    const pending = this.pendingRead;
    this.pendingRead = null;
    pending?.reject(canceled('Port was closed'));
    this.socket.destroy();
    // Closing the native port closes the original description and releases the flock.
    await this.control.close();
  }

  private assertOpen(): void {
    if (!this.open) throw canceled('Port is not open');
  }

  private fail(err: BindingError): void {
    if (this.failure) return;
    this.failure = err;
    debug('serial line failed: %s', err.message);
    // Bytes that arrived before the hang-up are still delivered first.
    this.serveRead();
  }

  private serveRead(): void {
    const pending = this.pendingRead;
    if (!pending) return;
    let chunk = this.leftover;
    this.leftover = null;
    if (!chunk) chunk = this.socket.destroyed ? null : (this.socket.read() as Buffer | null);
    if (!chunk || chunk.length === 0) {
      if (this.failure) {
        this.pendingRead = null;
        pending.reject(this.failure);
      }
      return;
    }
    this.pendingRead = null;
    const n = Math.min(chunk.length, pending.length);
    chunk.copy(pending.buffer, pending.offset, 0, n);
    if (n < chunk.length) this.leftover = chunk.subarray(n);
    pending.resolve({ buffer: pending.buffer, bytesRead: n });
  }
}

/**
 * A `BindingInterface` for Linux: open with the native binding, move bytes through libuv streams.
 * Usable wherever serialport takes a binding, e.g. `new SerialPortStream({ binding: TtyBinding, path, baudRate })`.
 */
export const TtyBinding: BindingInterface<TtyPortBinding, LinuxOpenOptions, PortInfo> = {
  list(): Promise<PortInfo[]> {
    return bindingsCpp.LinuxBinding.list();
  },

  async open(options: LinuxOpenOptions): Promise<TtyPortBinding> {
    const control = await bindingsCpp.LinuxBinding.open(options);
    let spare: number | null = null;
    try {
      // The throw-away fd libuv reopens and dup2s over; O_NONBLOCK so that opening a line with no
      // carrier cannot block (the native open already set CLOCAL, so libuv's reopen will not either).
      spare = await fsOpen(options.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
      if (!tty.isatty(spare)) {
        const err: BindingError = new Error('Inappropriate ioctl for device: not a terminal');
        err.code = 'ENOTTY';
        throw err;
      }
      // tty.ReadStream passes its options on to net.Socket (and so to Duplex); the Node typings
      // only list the socket-level ones. The default (0, meant for stdin) would read in tiny steps.
      const socketOptions: net.SocketConstructorOpts & DuplexOptions = {
        readableHighWaterMark: SOCKET_HIGH_WATER_MARK,
      };
      const socket = new tty.ReadStream(spare, socketOptions);
      const handleFd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (handleFd === spare || typeof handleFd !== 'number' || handleFd < 0) {
        socket.destroy();
        spare = null; // owned (and closed) by the socket now
        throw new Error(`libuv could not reopen ${options.path} as a separate non-blocking tty`);
      }
      // The spare fd now names the reopened description too; the handle keeps its own fd.
      await fsClose(spare);
      spare = null;
      debug('opened %s (control fd %d, stream fd %d)', options.path, control.fd, handleFd);
      return new TtyPortBinding(control, socket);
    } catch (err) {
      if (spare !== null) await fsClose(spare).catch(() => undefined);
      await control.close().catch(() => undefined);
      throw err;
    }
  },
};
