import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { startEchoServer } from '../helpers/servers.js';
import { defer, sha256 } from '../integration/helpers.js';
import { rawClient, readBytes, startBed } from './helpers.js';

/** Sends `bytes` (then FIN when `fin`); resolves with what came back once the server closed. */
async function hit(port: number, bytes: Buffer, fin: boolean): Promise<{ data: Buffer; ms: number }> {
  const t0 = Date.now();
  const c = await rawClient(port);
  c.socket.on('error', () => {});
  c.socket.write(bytes);
  if (fin) c.socket.end();
  const { data } = await c.closed;
  return { data, ms: Date.now() - t0 };
}

/** A tunnel to the echo server kept busy for the whole test: every byte must come back in order. */
async function goodClient(socksPort: number, echoPort: number) {
  const c = await rawClient(socksPort);
  c.socket.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff]));
  expect([...(await readBytes(c.socket, 12))]).toEqual([5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const sent: Buffer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const b = randomBytes(4096);
      sent.push(b);
      const echoed = readBytes(c.socket, b.length);
      c.socket.write(b);
      const got = await echoed;
      expect(sha256(got)).toBe(sha256(b));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      c.socket.destroy();
      return sent.length;
    },
  };
}

describe('SOCKS5 under hostile input', () => {
  it('truncations, random bytes, oversized lengths, stalls: each refused or closed, a concurrent good client served, memory bounded', async () => {
    const bed = await startBed({ handshakeTimeoutMs: 400 });
    const echo = await startEchoServer();
    defer(() => echo.close());
    const good = await goodClient(bed.socksPort, echo.port);
    const heap0 = process.memoryUsage().heapUsed;

    const request = Buffer.from([
      5,
      1,
      0,
      5,
      1,
      0,
      3,
      9,
      ...Buffer.from('localhost'),
      echo.port >> 8,
      echo.port & 0xff,
    ]);
    // Every truncation of a valid greeting + request, with FIN: closed at once, nothing but a
    // method choice (after the complete greeting) sent back.
    for (let n = 0; n < request.length; n++) {
      const r = await hit(bed.socksPort, request.subarray(0, n), true);
      expect(r.data.length === 0 || r.data.equals(Buffer.from([5, 0]))).toBe(true);
    }
    // The same truncations without FIN: closed by the handshake deadline, not held open.
    const stalls = await Promise.all([3, 6, 12].map((n) => hit(bed.socksPort, request.subarray(0, n), false)));
    for (const s of stalls) expect(s.ms).toBeLessThan(5000);

    // Random bytes, half of them starting like SOCKS5.
    const next = rng(1928);
    const randoms = [];
    for (let i = 0; i < 150; i++) {
      const b = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 600) }, () => Math.floor(next() * 256)));
      if (i % 2 === 0) b[0] = 5;
      randoms.push(hit(bed.socksPort, b, i % 3 !== 0));
    }
    for (const r of await Promise.all(randoms)) expect(r.ms).toBeLessThan(10_000);

    // Oversized lengths: 255 methods announced, 10 sent; a 255-byte name of garbage; a megabyte after a greeting.
    await hit(bed.socksPort, Buffer.from([5, 255, 0, 1, 2, 3, 4, 5, 6, 7]), false);
    const junkName = await hit(
      bed.socksPort,
      Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, 255]), Buffer.alloc(255, 0xfe), Buffer.from([0, 80])]),
      true,
    );
    expect([...junkName.data.subarray(2, 4)]).toEqual([5, 0x04]);
    const flood = await rawClient(bed.socksPort);
    flood.socket.on('error', () => {});
    flood.socket.write(Buffer.from([5, 1, 0, 5, 1, 0, 3, 255]));
    for (let i = 0; i < 16; i++) flood.socket.write(Buffer.alloc(64 * 1024, 0x01));
    await flood.closed;

    // The proxy still serves new clients and the good one never missed a byte.
    const again = await rawClient(bed.socksPort);
    again.socket.write(Buffer.from([5, 1, 0]));
    expect([...(await readBytes(again.socket, 2))]).toEqual([5, 0]);
    again.socket.destroy();
    expect(await good.stop()).toBeGreaterThan(0);
    // Nothing of the hostile connections stays: no handshake or tunnel left open (the good one closing).
    await new Promise((r) => setTimeout(r, 200));
    expect(bed.proxies.pool.stats().modules[0]!.inUse).toBeLessThanOrEqual(1);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 1024 * 1024);
  });
});
