import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { describe, expect, test } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { startEchoServer } from '../helpers/servers.js';
import { bringUpMulti, RawClient } from './raw-client.js';
import { mockHarness } from './harness.js';

const { cleanups } = mockHarness();

async function session(c: RawClient, port: number): Promise<void> {
  await bringUpMulti(c, { rxf: 0, qsend: 0 });
  await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
  await c.cmd('AT+CIPSEND=0,12\r\n', '\r\n> ');
  await c.cmd('hello\r\nworld', '\r\n0, SEND OK\r\n');
  await c.expect('\r\n+RECEIVE,0,12:\r\nhello\r\nworld\r\n');
  await c.cmd('AT+CIPCLOSE=0\r', '\r\n0, CLOSE OK\r\n');
}

function closePort(p: SerialPortStream | SerialPort): Promise<void> {
  return new Promise((r) => (p.isOpen ? p.close(() => r()) : r()));
}

describe('serialport binding', () => {
  test('the driver path through SerialPortStream: bring-up, connect, send, receive', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => echo.close());
    const mock = new MockModem();
    cleanups.push(() => mock.close());
    const port = new SerialPortStream({ binding: mock.binding(), path: MockModem.BINDING_PATH, baudRate: 115200 });
    port.on('error', () => {});
    cleanups.push(() => closePort(port));
    await new Promise<void>((r, j) => port.once('open', r).once('error', j));
    await session(new RawClient(port), echo.port);
    expect(await mock.binding().list()).toMatchObject([
      { path: MockModem.BINDING_PATH, vendorId: '19d1', productId: '0001' },
    ]);
  });

  test('unplug: the port closes as disconnected; after replug it opens again', async () => {
    const mock = new MockModem({ rebootDelayMs: 20 });
    cleanups.push(() => mock.close());
    const port = new SerialPortStream({ binding: mock.binding(), path: MockModem.BINDING_PATH, baudRate: 115200 });
    port.on('error', () => {});
    await new Promise<void>((r) => port.once('open', r));
    const c = new RawClient(port);
    await c.cmd('AT\r', 'AT\r\r\nOK\r\n');
    const closed = new Promise<{ disconnected?: boolean } | null>((r) => port.once('close', r));
    mock.unplug();
    expect((await closed)?.disconnected).toBe(true);
    await expect(mock.binding().open({ path: MockModem.BINDING_PATH, baudRate: 115200 })).rejects.toThrow(
      /No such file/,
    );
    mock.replug();
    const again = new SerialPortStream({ binding: mock.binding(), path: MockModem.BINDING_PATH, baudRate: 115200 });
    again.on('error', () => {});
    cleanups.push(() => closePort(again));
    await new Promise<void>((r) => again.once('open', r));
    const c2 = new RawClient(again);
    await c2.readUntil('+NITZ: 24/07/23,08:35:01+32,0\r\n');
    await c2.cmd('AT\r', 'AT\r\r\nOK\r\n');
  });

  test('closing the port cancels the pending read and frees the port', async () => {
    const mock = new MockModem();
    cleanups.push(() => mock.close());
    const b = mock.binding();
    const p = await b.open({ path: MockModem.BINDING_PATH, baudRate: 115200 });
    const read = p.read(Buffer.alloc(10), 0, 10);
    await p.close();
    await expect(read).rejects.toMatchObject({ canceled: true });
    const p2 = await b.open({ path: MockModem.BINDING_PATH, baudRate: 115200 });
    await p2.write(Buffer.from('AT\r'));
    const buf = Buffer.alloc(64);
    let text = '';
    while (!text.endsWith('OK\r\n')) {
      const { bytesRead } = await p2.read(buf, 0, 64);
      text += buf.subarray(0, bytesRead).toString('latin1');
    }
    expect(text).toBe('AT\r\r\nOK\r\n');
    await p2.close();
  });
});

describe('pty', () => {
  test('a client opens the pty path with serialport and completes bring-up, connect, send, receive; unplug and replug keep the path', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => echo.close());
    const mock = new MockModem({ rebootDelayMs: 20 });
    cleanups.push(() => mock.close());
    const link = join(mkdtempSync(join(tmpdir(), 'air780-mock-')), 'ttyMOCK');
    const served = await mock.servePty(link);
    cleanups.push(() => served.close());
    expect(served.path).toBe(link);

    const port = new SerialPort({ path: link, baudRate: 115200 });
    port.on('error', () => {});
    await new Promise<void>((r, j) => port.once('open', r).once('error', j));
    await session(new RawClient(port), echo.port);

    const closed = new Promise<{ disconnected?: boolean } | null>((r) => port.once('close', r));
    const replugged = new Promise((r) => mock.once('attach', r));
    mock.unplug({ replugAfterMs: 100 });
    // bindings-cpp does not always notice a hang-up while idle (serial-notes.md, poller bug); a
    // write to the dead pty always surfaces it, as a driver's next AT would.
    // (Closed by a write error, the close carries that error rather than `disconnected`.)
    const poke = setTimeout(() => port.write('AT\r'), 500);
    await closed;
    clearTimeout(poke);
    expect(port.isOpen).toBe(false);
    await replugged;
    const again = new SerialPort({ path: link, baudRate: 115200 });
    again.on('error', () => {});
    cleanups.push(() => closePort(again));
    await new Promise<void>((r, j) => again.once('open', r).once('error', j));
    // Boot URCs may have gone out before the port was reopened: sync with AT as a driver would.
    const c2 = new RawClient(again);
    await c2.write('AT\r');
    expect(await c2.readUntil('OK\r\n')).toMatch(/AT\r\r\nOK\r\n$/);
  });
});
