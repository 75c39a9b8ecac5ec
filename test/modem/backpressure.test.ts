import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { sha256, waitFor } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

describe('pull-mode backpressure', () => {
  it('a paused reader stops the reads from the module, memory stays bounded, nothing is lost', async () => {
    const total = 2 * 1024 * 1024;
    const payload = Buffer.alloc(total);
    for (let i = 0; i < total; i++) payload[i] = (i * 31 + (i >> 11)) & 0xff;
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      // Write in pieces so the server side sees its own backpressure.
      let off = 0;
      const pump = () => {
        while (off < total) {
          const piece = payload.subarray(off, off + 16384);
          off += piece.length;
          if (!s.write(piece)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const mock = new MockModem({ rxBufferBytes: 64 * 1024 });
    cleanup.push(() => mock.close());
    const modem = await Modem.open({
      stream: mock.hostStream(),
      rxMode: 'pull',
      syncIntervalMs: 300,
      pollIntervalMs: 50,
    });
    cleanup.push(() => modem.close());
    const s = modem.connect('127.0.0.1', (server.address() as AddressInfo).port);
    await once(s, 'connect');
    // Do not read: let the buffers fill.
    await waitFor(() => s.readableLength >= 32 * 1024, 10_000, 'the socket buffer to fill');
    const reads = () =>
      mock.transcript.filter((e) => e.kind === 'command' && e.text.startsWith('AT+CIPRXGET=2,')).length;
    await new Promise((r) => setTimeout(r, 300));
    const readsAtPause = reads();
    const bufferedAtPause = s.readableLength;
    await new Promise((r) => setTimeout(r, 2000));
    expect(reads()).toBe(readsAtPause);
    expect(s.readableLength).toBe(bufferedAtPause);
    expect(s.readableLength).toBeLessThanOrEqual(s.readableHighWaterMark + 1460);
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    await once(s, 'end');
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(total);
    expect(sha256(got)).toBe(sha256(payload));
  });
});
