import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemSocket } from '../../src/modem/index.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { firstEvent, sha256 } from './helpers.js';

let echo: TestServer;
beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  await echo.close();
});

/** Payload lengths of every AT+CIPSEND the module received, in order. */
function sendLengths(mock: MockModem): number[] {
  return mock
    .commands()
    .filter((c) => c.startsWith('AT+CIPSEND='))
    .map((c) => Number(c.split(',')[1]));
}

describe('send chunking', () => {
  // A websocket client writes one buffer per frame: 16 KiB messages are 16 398-byte writes
  // (masked header + payload), which do not divide into 1460-byte sends. Each CIPSEND costs a
  // command and two turn-arounds, so every send but the last must carry the full 1460 bytes,
  // taking the tail of one write together with the head of the next.
  it.each([
    ['websocket frames (16 398 B)', 16_398, 6],
    ['odd small writes (333 B)', 333, 200],
  ])('%s go out in full 1460-byte sends, byte exact', async (_name, size, count) => {
    const mock = new MockModem({ latencyMs: 1 });
    const modem = await Modem.open({
      stream: mock.hostStream(),
      syncIntervalMs: 300,
      pollIntervalMs: 50,
      commandTimeoutMs: 5000,
    });
    try {
      const socket: ModemSocket = modem.connect('127.0.0.1', echo.port);
      await once(socket, 'connect');
      mock.clearTranscript();
      const data = randomBytes(size * count);
      const back: Buffer[] = [];
      let got = 0;
      const received = new Promise<void>((resolve) => {
        socket.on('data', (b: Buffer) => {
          back.push(b);
          got += b.length;
          if (got >= data.length) resolve();
        });
      });
      for (let off = 0; off < data.length; off += size) {
        if (!socket.write(data.subarray(off, off + size))) await firstEvent(socket, ['drain']);
      }
      await received;
      expect(sha256(Buffer.concat(back))).toBe(sha256(data));
      const lengths = sendLengths(mock);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(data.length);
      expect(lengths.length).toBe(Math.ceil(data.length / 1460));
      expect(lengths.slice(0, -1).every((n) => n === 1460)).toBe(true);
      socket.destroy();
    } finally {
      await modem.close();
      await mock.close();
    }
  });
});
