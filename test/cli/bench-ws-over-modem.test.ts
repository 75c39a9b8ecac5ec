import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { startBenchServer } from '../../src/bench/server.js';
import { download, echoRtt, upload, wsOverModem } from '../../src/bench/workloads.js';

// The same-path baseline: the ws package's client over a stream through the (in-process) mock.
let server: Awaited<ReturnType<typeof startBenchServer>>;
beforeAll(async () => {
  server = await startBenchServer();
});
afterAll(async () => {
  await server.close();
});

describe.each(['push', 'pull'] as const)('bench workloads over the ws package through the modem (%s)', (rxMode) => {
  it('uploads, downloads and echoes byte exact over one modem, several streams in turn', async () => {
    const mock = new MockModem();
    const modem = await Modem.open({
      stream: mock.hostStream(),
      rxMode,
      syncIntervalMs: 300,
      pollIntervalMs: 50,
      commandTimeoutMs: 5000,
    });
    try {
      const connect = wsOverModem(modem, server.port);
      // Not a multiple of the 1460-byte CIPSEND chunk nor of the message size: a short last message.
      const up = await upload(connect, 50_001, 16384, { deflate: false, timeoutMs: 20_000 });
      expect(up.bytes).toBe(50_001);
      expect(up.cpuMs).toBeGreaterThan(0);
      expect((await download(connect, 40_003, 16384, { deflate: false, timeoutMs: 20_000 })).bytes).toBe(40_003);
      // deflate negotiated over the module path too (JSON text messages).
      expect((await download(connect, 20_000, 4096, { deflate: true, kind: 'json', timeoutMs: 20_000 })).bytes).toBe(
        20_000,
      );
      const e = await echoRtt(connect, 1500, 3, 10_000);
      expect(e.samples).toBe(3);
    } finally {
      await modem.close();
      await mock.close();
    }
  });
});

describe('wsOverModem', () => {
  it('rejects when the stream cannot be opened', async () => {
    const refused = wsOverModem({ openStream: () => Promise.reject(new Error('no bearer')) }, server.port);
    await expect(refused('/bench/sink', { deflate: false })).rejects.toThrow('no bearer');
  });

  it('rejects a peer that answers the upgrade with 400 and destroys the stream through the module', async () => {
    const peer = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', () => r()));
    const mock = new MockModem();
    const modem = await Modem.open({
      stream: mock.hostStream(),
      syncIntervalMs: 300,
      pollIntervalMs: 50,
      commandTimeoutMs: 5000,
    });
    try {
      let opened: Duplex | undefined;
      const connect = wsOverModem(
        { openStream: async (h, p, o) => (opened = await modem.openStream(h, p, o)) },
        (peer.address() as AddressInfo).port,
      );
      await expect(connect('/bench/sink', { deflate: false })).rejects.toThrow(/400/);
      expect(opened?.destroyed).toBe(true);
    } finally {
      await modem.close();
      await mock.close();
      await new Promise((r) => peer.close(r));
    }
  });
});
