import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type tty from 'node:tty';
import type { BindingInterface, BindingPortInterface, LinuxOpenOptions as OpenOptions } from '@serialport/bindings-cpp';
import { openSerialPort, SerialDisconnectedError, TtyBinding, type SerialDuplex, type TtyPortBinding } from '../../src/modem/serial/index.js';
import { RECEIVE_CHUNKS } from '../../src/modem/serial/chunk-source.js';
import { closeEvent, usePtyBed } from './pty-bed.js';

const KIB = 1024;
/** The tty socket's buffer bound (tty-binding.ts) plus one read's worth. */
const SOCKET_BOUND = 64 * KIB + 64 * KIB;

/** TtyBinding, recording the ports it opened. */
function recordingTtyBinding(): BindingInterface & { ports: TtyPortBinding[] } {
  const ports: TtyPortBinding[] = [];
  return {
    ports,
    list: () => TtyBinding.list(),
    async open(options: OpenOptions) {
      const port = await TtyBinding.open(options);
      ports.push(port);
      return port;
    },
  };
}

/** TtyBinding with the chunk capability hidden, so the stream takes the generic read() path. */
function readOnlyTtyBinding(): BindingInterface & { ports: TtyPortBinding[] } {
  const ports: TtyPortBinding[] = [];
  return {
    ports,
    list: () => TtyBinding.list(),
    async open(options: OpenOptions): Promise<BindingPortInterface> {
      const real = await TtyBinding.open(options);
      ports.push(real);
      return {
        get openOptions() { return real.openOptions; },
        get isOpen() { return real.isOpen; },
        read: (buffer, offset, length) => real.read(buffer, offset, length),
        write: (buffer) => real.write(buffer),
        update: (o) => real.update(o),
        set: (o) => real.set(o),
        get: () => real.get(),
        getBaudRate: () => real.getBaudRate(),
        flush: () => real.flush(),
        drain: () => real.drain(),
        close: () => real.close(),
      };
    },
  };
}

/** The libuv tty socket under a port: white-box, to see that backpressure reaches it. */
function socketOf(port: TtyPortBinding): tty.ReadStream {
  return (port as unknown as { socket: tty.ReadStream }).socket;
}

describe('the direct chunk path over the tty binding', () => {
  const { open, pair, reset } = usePtyBed();

  it('takes chunks directly from the tty binding (its read() is refused meanwhile)', async () => {
    const pty = await pair();
    const binding = recordingTtyBinding();
    const a = await openSerialPort({ path: pty.a, binding });
    open.push(a);
    expect(typeof binding.ports[0]![RECEIVE_CHUNKS]).toBe('function');
    const b = await openSerialPort({ path: pty.b });
    open.push(b);
    const first = once(a, 'data');
    b.write(Buffer.from('RDY\r\n'));
    expect((await first)[0]).toEqual(Buffer.from('RDY\r\n'));
    // Chunks are taken directly now: read() is refused rather than racing the stream for bytes.
    await expect(binding.ports[0]!.read(Buffer.alloc(8), 0, 8)).rejects.toThrow(/read\(\) cannot be mixed in/);
  });

  it('pauses the tty stream while the reader stops, and loses no byte when it resumes', async () => {
    const pty = await pair();
    const binding = recordingTtyBinding();
    const a = await openSerialPort({ path: pty.a, binding, highWaterMark: 1 * KIB });
    const b = await openSerialPort({ path: pty.b });
    open.push(a, b);
    const socket = socketOf(binding.ports[0]!);
    const payload = randomBytes(512 * KIB);
    const got: Buffer[] = [];
    let received = 0;
    const stoppedEarly = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        got.push(chunk);
        received += chunk.length;
        if (received >= 4 * KIB) {
          a.pause();
          a.off('data', onData);
          resolve();
        }
      };
      a.on('data', onData);
    });
    let writeDone = false;
    b.write(payload, () => { writeDone = true; });
    await stoppedEarly;

    // The socket fills its own bounded buffer, then stops reading the fd: the sender stalls.
    await expect.poll(() => socket.readableLength, { timeout: 10_000 }).toBeGreaterThanOrEqual(64 * KIB - 4 * KIB);
    expect(socket.isPaused()).toBe(true);
    expect(a.readableLength).toBeLessThanOrEqual(1 * KIB + 64 * KIB);
    expect(socket.readableLength).toBeLessThanOrEqual(SOCKET_BOUND);
    expect(received + a.readableLength + socket.readableLength).toBeLessThan(payload.length);
    expect(writeDone).toBe(false);

    const rest = new Promise<void>((resolve) => {
      a.on('data', (chunk: Buffer) => {
        got.push(chunk);
        received += chunk.length;
        if (received >= payload.length) resolve();
      });
    });
    a.resume();
    await rest;
    expect(received).toBe(payload.length);
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    await expect.poll(() => writeDone, { timeout: 10_000 }).toBe(true);
  });

  /**
   * The far end vanishes mid-stream; what the reader sees, for one binding. The reader is reading
   * ('flowing'), or paused with this stream's buffer full and either the tty socket's too (it has
   * stopped reading the fd, so it cannot see the hang-up yet) or not (it sees it while paused).
   */
  async function vanishMidStream(
    binding: BindingInterface & { ports: TtyPortBinding[] },
    reader: 'flowing' | 'paused, socket full' | 'paused, socket listening',
  ) {
    const pty = await pair();
    const a = await openSerialPort({ path: pty.a, binding, highWaterMark: 4 * KIB });
    const b = await openSerialPort({ path: pty.b });
    open.push(a, b);
    const socket = socketOf(binding.ports[0]!);
    // 56 KiB: what is left after the 32-40 KiB read before pausing fills this stream's 4 KiB, and the
    // rest stays below the socket's 64 KiB.
    const payload = randomBytes(reader === 'paused, socket listening' ? 56 * KIB : 1024 * KIB);
    const got: Buffer[] = [];
    let received = 0;
    const errors: Error[] = [];
    a.on('error', (err) => errors.push(err));
    const closed = closeEvent(a);
    let pausedOnce = false;
    const enough = new Promise<void>((resolve) => {
      a.on('data', (chunk: Buffer) => {
        got.push(chunk);
        received += chunk.length;
        if (received >= 32 * KIB) {
          // Pausing here, not after the await, bounds what was read before the pause.
          if (reader !== 'flowing' && !pausedOnce) {
            pausedOnce = true;
            a.pause();
          }
          resolve();
        }
      });
    });
    b.write(payload, () => undefined);
    await enough;
    if (reader !== 'flowing') {
      // Full buffer: the stream asks for no more, so neither path is listening at the hang-up.
      await expect.poll(() => a.readableLength, { timeout: 10_000 }).toBeGreaterThanOrEqual(4 * KIB);
      if (reader === 'paused, socket full') {
        await expect.poll(() => socket.readableLength, { timeout: 10_000 }).toBeGreaterThanOrEqual(64 * KIB - 4 * KIB);
      } else {
        await expect.poll(() => received + a.readableLength + socket.readableLength, { timeout: 10_000 }).toBe(payload.length);
      }
    }
    const path = pty.a;
    await pty.close();
    if (reader === 'paused, socket listening') {
      // The socket was still reading the fd: it sees the hang-up (EOF) now, with bytes still in its buffer.
      const state = (socket as unknown as { _readableState: { ended: boolean } })._readableState;
      await expect.poll(() => socket.destroyed || state.ended, { timeout: 10_000 }).toBe(true);
      await new Promise((r) => setImmediate(r));
    }
    if (reader !== 'flowing') {
      expect(a.disconnected).toBe(false); // a reader that is not reading has not been told yet
      a.resume();
    }
    const arg = await closed;
    expect(errors).toEqual([]);
    expect(arg).toBeInstanceOf(SerialDisconnectedError);
    expect(a.disconnected).toBe(true);
    expect(a.disconnectError).toBe(arg);
    const data = Buffer.concat(got);
    expect(data.length).toBeGreaterThanOrEqual(32 * KIB);
    expect(data.length).toBeLessThanOrEqual(payload.length);
    expect(data.equals(payload.subarray(0, data.length))).toBe(true);
    await expect(a.set({ dtr: false })).rejects.toMatchObject({ code: 'ERR_PORT_DISCONNECTED' });
    const err = arg as SerialDisconnectedError;
    return {
      name: err.name,
      code: err.code,
      disconnected: err.disconnected,
      message: err.message.replaceAll(path, '<path>'),
      cause: (err.cause as Error).message,
      causeCode: (err.cause as { code?: string }).code,
      // Bytes the reader got before the hang-up was reported: all of them, when the socket had them.
      allDelivered: data.length === payload.length,
    };
  }

  for (const reader of ['flowing', 'paused, socket full', 'paused, socket listening'] as const) {
    it(`reports the far end vanishing mid-stream (reader ${reader}) exactly as the read() path does`, async () => {
      const fast = await vanishMidStream(recordingTtyBinding(), reader);
      await reset();
      const generic = await vanishMidStream(readOnlyTtyBinding(), reader);
      expect(fast).toEqual(generic);
      expect(fast.code).toBe('ERR_PORT_DISCONNECTED');
      // An end of file waits behind the bytes read before it: none is lost.
      if (reader === 'paused, socket listening') expect(fast.allDelivered).toBe(true);
    });
  }
});
