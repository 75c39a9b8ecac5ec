import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonPayload, startBenchServer } from '../../src/bench/server.js';
import { download, echoRtt, upload, wsDirect } from '../../src/bench/workloads.js';

let server: Awaited<ReturnType<typeof startBenchServer>>;
beforeAll(async () => {
  server = await startBenchServer();
});
afterAll(async () => {
  await server.close();
});

describe('bench workloads over the ws client (baseline path)', () => {
  it('upload counts every byte at the server, including a short last message', async () => {
    const r = await upload(wsDirect(server.port), 100_000, 16384, { deflate: false, timeoutMs: 10_000 });
    expect(r.bytes).toBe(100_000);
    expect(r.seconds).toBeGreaterThan(0);
  });

  it('download receives exactly the requested bytes, json with deflate too', async () => {
    expect((await download(wsDirect(server.port), 70_000, 16384, { deflate: false, timeoutMs: 10_000 })).bytes).toBe(
      70_000,
    );
    expect(
      (await download(wsDirect(server.port), 50_000, 4096, { deflate: true, kind: 'json', timeoutMs: 10_000 })).bytes,
    ).toBe(50_000);
  });

  it('echo round trips check the bytes and give percentiles', async () => {
    const r = await echoRtt(wsDirect(server.port), 1024, 20, 5000);
    expect(r.samples).toBe(20);
    expect(r.p99).toBeGreaterThanOrEqual(r.p50);
  });

  it('json payloads are valid JSON of the exact size', () => {
    for (const size of [100, 1024, 16384]) {
      const text = jsonPayload(size, 7);
      expect(Buffer.byteLength(text)).toBe(size);
      expect((JSON.parse(text) as { seq: number }).seq).toBe(7);
    }
  });
});
