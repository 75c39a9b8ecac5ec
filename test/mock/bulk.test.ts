import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { startEchoServer } from '../helpers/servers.js';
import { MiniReader } from './mini-driver.js';
import { bringUpMulti, RawClient, startTrackedServer } from './raw-client.js';
import { mockHarness } from './harness.js';

const { cleanups } = mockHarness();

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MB = 1 << 20;

async function echoThrough(mode: 'push' | 'pull', baudRate: number, size: number): Promise<void> {
  const echo = await startEchoServer();
  cleanups.push(() => echo.close());
  // A 1 ms delivery tick keeps 718 command round trips quick; the rate is the same either way.
  const mock = new MockModem({ baudRate, lineChunkMs: 1, rxBufferBytes: 16 * 1024 });
  cleanups.push(() => mock.close());
  const stream = mock.hostStream();
  const c = new RawClient(stream);
  await bringUpMulti(c, mode === 'pull' ? { rxget: 5 } : {});
  await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${echo.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
  const payload = randomBytes(size);
  const got: Buffer[] = [];
  const r = new MiniReader(stream, (_link, d) => got.push(d));
  const drain = async (): Promise<void> => {
    for (;;) {
      await c.write('AT+CIPRXGET=2,0,1460\r\n');
      const hdr = await r.line((l) => l.startsWith('+CIPRXGET: 2,'));
      await r.line((l) => l === 'OK');
      if (hdr.endsWith(',0')) return;
    }
  };
  for (let off = 0; off < payload.length; off += 1460) {
    const chunk = payload.subarray(off, off + 1460);
    await c.write(`AT+CIPSEND=0,${chunk.length}\r\n`);
    await r.prompt();
    await c.write(chunk);
    await r.line((l) => l === `DATA ACCEPT:0,${chunk.length}`);
    if (mode === 'pull') await drain();
  }
  if (mode === 'pull') {
    while (r.received < payload.length) {
      await drain();
      if (r.received < payload.length) await new Promise((res) => setTimeout(res, 5));
    }
  } else {
    await r.until(() => r.received >= payload.length);
  }
  expect(r.received).toBe(payload.length);
  expect(sha(Buffer.concat(got))).toBe(sha(payload));
}

describe('through a link to a TCP echo server, SHA-256 equal', () => {
  test('push mode, unthrottled, 1 MiB', () => echoThrough('push', 0, MB));
  test('pull mode, unthrottled, 1 MiB', () => echoThrough('pull', 0, MB));
  // Throttled at a high rate so that 718 command round trips stay within seconds. Each round trip
  // waits for the line's delivery ticks, so a busy machine stretches them: pull mode took 17 s of
  // the 30 s default with two other processes spinning on the 2 cores; 90 s leaves room for CI.
  test('push mode, throttled at 4 Mbaud, 1 MiB', () => echoThrough('push', 4_000_000, MB), 90_000);
  test('pull mode, throttled at 4 Mbaud, 1 MiB', () => echoThrough('pull', 4_000_000, MB), 90_000);
});

/** A server that, once a client connects, writes `data` as fast as the socket accepts it. */
function startSource(data: Buffer): ReturnType<typeof startTrackedServer> {
  return startTrackedServer((s) => s.end(data));
}

describe('backpressure reaches the server; nothing is dropped', () => {
  test('pull mode: the module buffer stays bounded while the host does not read, then everything arrives', async () => {
    const data = randomBytes(4 * MB);
    const src = await startSource(data);
    cleanups.push(() => src.close());
    const mock = new MockModem({ rxBufferBytes: 8192 });
    cleanups.push(() => mock.close());
    const stream = mock.hostStream();
    const c = new RawClient(stream);
    await bringUpMulti(c, { rxget: 1 });
    await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${src.port}\r`, '\r\nOK\r\n\r\n0, CONNECT OK\r\n');
    await c.expect('\r\n+CIPRXGET: 1,0\r\n');
    await expect.poll(() => src.sockets[0]?.writableLength ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    await c.write('AT+CIPRXGET=4,0\r');
    const size = Number(/\+CIPRXGET: 4,0,(\d+)/.exec(await c.readUntil('OK\r\n'))![1]);
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(8192 + 65536); // the bound plus at most one socket read
    expect(src.sockets[0]!.writableLength).toBeGreaterThan(0); // the server is held back, not the module flooded
    const got: Buffer[] = [];
    const r = new MiniReader(stream, (_l, d) => got.push(d));
    for (let i = 0; i < 20; i++) {
      await c.write('AT+CIPRXGET=2,0,1460\r');
      await r.line((l) => l === 'OK');
    }
    // Switching to push mode hands over what is buffered, then the rest streams.
    await c.write('AT+CIPRXGET=0\r');
    await r.until(() => r.received >= data.length);
    expect(r.received).toBe(data.length);
    expect(sha(Buffer.concat(got))).toBe(sha(data));
    await r.line((l) => l === '0, CLOSED');
  });

  test('push mode on a slow line: the host socket is paused, the server is held back, what arrives is intact', async () => {
    const data = randomBytes(16 * MB);
    const src = await startSource(data);
    cleanups.push(() => src.close());
    const mock = new MockModem({ baudRate: 115_200, lineHighWater: 4096 });
    cleanups.push(() => mock.close());
    const stream = mock.hostStream();
    const c = new RawClient(stream);
    await bringUpMulti(c);
    const got: Buffer[] = [];
    const r = new MiniReader(stream, (_l, d) => got.push(d));
    await c.write(`AT+CIPSTART=0,"TCP","127.0.0.1",${src.port}\r`);
    await r.line((l) => l === '0, CONNECT OK');
    await expect.poll(() => src.sockets[0]?.writableLength ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    await r.until(() => r.received >= 4096);
    const prefix = Buffer.concat(got);
    expect(prefix.equals(data.subarray(0, prefix.length))).toBe(true);
  });
});
