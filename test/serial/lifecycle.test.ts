import { describe, expect, it } from 'vitest';
import { SerialPortMock } from 'serialport';
import { Air780Error } from '../../src/at/errors.js';
import {
  openSerialPort,
  SerialDisconnectedError,
  SerialOpenError,
  type SerialDuplex,
} from '../../src/modem/serial/index.js';
import { closeEvent, usePtyBed } from './pty-bed.js';
import { fakeBinding } from './fake-binding.js';

async function readExactly(port: SerialDuplex, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of port as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    got += chunk.length;
    if (got >= n) break;
  }
  return Buffer.concat(chunks);
}

describe('opening', () => {
  it('rejects a missing path with ERR_PORT_OPEN that says what to check', async () => {
    const err = await openSerialPort({ path: '/nonexistent/air780/ttyACM9' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerialOpenError);
    expect(err).toBeInstanceOf(Air780Error);
    expect((err as SerialOpenError).code).toBe('ERR_PORT_OPEN');
    expect((err as SerialOpenError).reason).toBe('not-found');
    expect((err as Error).message).toMatch(/\/nonexistent\/air780\/ttyACM9.*check the path/);
  });

  it('rejects a device that is not a terminal', async () => {
    const err = await openSerialPort({ path: '/dev/null' }).catch((e: unknown) => e);
    expect((err as SerialOpenError).code).toBe('ERR_PORT_OPEN');
    expect((err as SerialOpenError).reason).toBe('not-a-tty');
  });

  it('rejects bad options before touching the system', async () => {
    await expect(openSerialPort({ path: '' })).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    await expect(openSerialPort({ path: '/dev/ttyACM0', baudRate: -1 })).rejects.toMatchObject({
      code: 'ERR_BAD_ARGUMENT',
    });
  });

  it("wraps an injected binding's open failure", async () => {
    const binding = fakeBinding();
    binding.failOpen = Object.assign(new Error('Permission denied, cannot open /dev/ttyACM2'), { code: 'EACCES' });
    await expect(openSerialPort({ path: '/dev/ttyACM2', binding })).rejects.toMatchObject({
      code: 'ERR_PORT_OPEN',
      reason: 'permission',
    });
  });

  it('times out an open that never answers', async () => {
    const binding = { list: async () => [], open: () => new Promise<never>(() => undefined) };
    await expect(openSerialPort({ path: '/dev/ttyX', binding, openTimeoutMs: 50 })).rejects.toMatchObject({
      code: 'ERR_PORT_OPEN',
    });
  });
});

describe('on a pty pair', () => {
  const { open, pair } = usePtyBed();

  it('locks the port while open and releases it on close', async () => {
    const pty = await pair();
    const a = await openSerialPort({ path: pty.a });
    const err = await openSerialPort({ path: pty.a }).catch((e: unknown) => e);
    expect((err as SerialOpenError).code).toBe('ERR_PORT_OPEN');
    expect((err as SerialOpenError).reason).toBe('busy');
    const closed = closeEvent(a);
    await a.close();
    expect(await closed).toBeUndefined();
    expect(a.disconnected).toBe(false);
    const again = await openSerialPort({ path: pty.a });
    open.push(again);
    const b = await openSerialPort({ path: pty.b });
    open.push(b);
    again.write(Buffer.from('AT\r'));
    expect((await readExactly(b, 3)).toString()).toBe('AT\r');
  });

  it('reports the far end vanishing as close with a disconnect error, not as an error event', async () => {
    const pty = await pair();
    const a = await openSerialPort({ path: pty.a });
    open.push(a);
    a.resume(); // only a port with a pending read notices a hang-up
    const closed = closeEvent(a);
    await pty.close();
    const arg = await closed;
    expect(arg).toBeInstanceOf(SerialDisconnectedError);
    expect(arg).toMatchObject({ code: 'ERR_PORT_DISCONNECTED', disconnected: true });
    expect(a.disconnected).toBe(true);
    expect(a.disconnectError).toBe(arg);
    await expect(a.set({ dtr: false })).rejects.toMatchObject({ code: 'ERR_PORT_DISCONNECTED' });
  });

  it('survives the far end vanishing with a write in flight: the write fails, close says disconnected', async () => {
    const pty = await pair();
    const a = await openSerialPort({ path: pty.a });
    open.push(a);
    a.resume();
    // Nobody reads end b, so socat stops draining end a and this write stays in flight.
    const big = Buffer.alloc(4 * 1024 * 1024, 0x55);
    let writeError: Error | null | undefined;
    let queuedError: Error | null | undefined;
    const written = new Promise<void>((resolve) =>
      a.write(big, (err) => {
        writeError = err;
        resolve();
      }),
    );
    a.write(Buffer.from('queued behind'), (err) => {
      queuedError = err;
    });
    const closed = closeEvent(a);
    await new Promise((r) => setTimeout(r, 100));
    expect(writeError).toBeUndefined(); // still in flight
    await pty.close();
    const arg = await closed;
    await written;
    expect(arg).toMatchObject({ code: 'ERR_PORT_DISCONNECTED', disconnected: true });
    // Node reports a write pending on a destroyed socket as a success; ours must not.
    expect(writeError).toMatchObject({ code: 'ERR_PORT_DISCONNECTED' });
    expect(queuedError).toBeInstanceOf(Error);
    expect(a.destroyed).toBe(true);
  });

  it('close() with a write in flight fails that write quietly and closes without a disconnect', async () => {
    const pty = await pair();
    const a = await openSerialPort({ path: pty.a });
    let writeError: Error | null | undefined;
    const written = new Promise<void>((resolve) =>
      a.write(Buffer.alloc(4 * 1024 * 1024, 1), (err) => {
        writeError = err;
        resolve();
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const closed = closeEvent(a);
    await a.close();
    await written;
    expect(await closed).toBeUndefined();
    expect(writeError).toBeInstanceOf(Error);
    expect(a.disconnected).toBe(false);
  });

  it('passes bytes through unchanged, all 256 values', async () => {
    const pty = await pair();
    const a = await openSerialPort({ path: pty.a });
    const b = await openSerialPort({ path: pty.b });
    open.push(a, b);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    a.write(all);
    expect(await readExactly(b, 256)).toEqual(all);
    await a.drain();
    await a.update({ baudRate: 9600 });
    await expect(a.set({ dtr: false })).rejects.toThrow(); // ptys have no modem lines
    expect(a.isOpen).toBe(true);
  });
});

describe('with an injected binding', () => {
  it("moves bytes through serialport's mock binding", async () => {
    const MockBinding = SerialPortMock.binding;
    MockBinding.createPort('/dev/fakeAir780', { echo: true, record: true });
    try {
      const port = await openSerialPort({ path: '/dev/fakeAir780', binding: MockBinding });
      port.write(Buffer.from('ATI\r'));
      expect((await readExactly(port, 4)).toString()).toBe('ATI\r');
      await port.close();
    } finally {
      MockBinding.reset();
    }
  });

  it('turns a failed read into close with disconnected, without an error event', async () => {
    const binding = fakeBinding();
    const port = await openSerialPort({ path: '/dev/ttyFake0', binding });
    const fake = binding.ports[0]!;
    const got: Buffer[] = [];
    port.on('data', (d: Buffer) => got.push(d));
    fake.feed(Buffer.from('RDY\r\n'));
    const closed = closeEvent(port);
    await new Promise((r) => setImmediate(r));
    fake.hangUp();
    expect(await closed).toMatchObject({ code: 'ERR_PORT_DISCONNECTED', disconnected: true, path: '/dev/ttyFake0' });
    expect(Buffer.concat(got).toString()).toBe('RDY\r\n');
    expect(fake.isOpen).toBe(false);
  });

  it('fails an in-flight write on hang-up through its callback, not an error event', async () => {
    const binding = fakeBinding();
    const port = await openSerialPort({ path: '/dev/ttyFake1', binding });
    const fake = binding.ports[0]!;
    fake.holdWrites = true;
    const results: Array<Error | null | undefined> = [];
    port.write(Buffer.from('AT+CIPSEND=0,5\r'), (err) => results.push(err));
    port.write(Buffer.from('hello'), (err) => results.push(err));
    const closed = closeEvent(port);
    await new Promise((r) => setImmediate(r));
    expect(fake.writePending).toBe(true);
    fake.hangUp();
    expect(await closed).toMatchObject({ disconnected: true });
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ code: 'ERR_PORT_DISCONNECTED' });
    expect(results[1]).toBeInstanceOf(Error);
  });

  it('coalesces queued writes and waits for them in drain()', async () => {
    const binding = fakeBinding();
    const port = await openSerialPort({ path: '/dev/ttyFake2', binding });
    const fake = binding.ports[0]!;
    fake.holdWrites = true;
    port.write(Buffer.from('A'));
    port.write(Buffer.from('B'));
    port.write(Buffer.from('C'));
    let drained = false;
    const draining = port.drain().then(() => {
      drained = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    while (fake.writePending) {
      fake.releaseWrite();
      await new Promise((r) => setImmediate(r));
    }
    await draining;
    expect(Buffer.concat(fake.written).toString()).toBe('ABC');
    expect(fake.written.length).toBeLessThan(3);
    await port.close();
    await port.close(); // idempotent
  });
});
