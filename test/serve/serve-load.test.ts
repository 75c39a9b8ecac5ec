import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startEchoServer } from '../helpers/servers.js';
import { defer, sha256, until } from '../integration/helpers.js';
import { curl, rawClient, readBytes, startBed } from './helpers.js';

/** GET /<n>: after 400 ms, 256 KiB derived from n (so each client can check its own body). */
async function startSlowServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = bodyFor(req.url ?? '');
    setTimeout(() => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    }, 400);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function bodyFor(path: string): Buffer {
  const seed = createHash('sha256').update(path).digest();
  return Buffer.concat(
    Array.from({ length: (256 * 1024) / 32 }, (_, i) => createHash('sha256').update(seed).update(String(i)).digest()),
  );
}

function socksConnect(_port: number, target: number): Buffer {
  return Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 0xff]);
}

describe('serve under load', () => {
  it('12 concurrent curls over 6 links: all complete byte-exact, the extra ones queued and drained', async () => {
    const bed = await startBed({ queueTimeoutMs: 60_000 });
    const web = await startSlowServer();
    defer(() => web.close());
    let maxQueued = 0;
    const poll = setInterval(() => (maxQueued = Math.max(maxQueued, bed.proxies.pool.stats().queued)), 5);
    defer(() => clearInterval(poll));
    const runs = Array.from({ length: 12 }, (_, i) =>
      curl(
        i % 2
          ? ['--socks5-hostname', `127.0.0.1:${bed.socksPort}`, `http://localhost:${web.port}/c${i}`]
          : ['-x', `http://127.0.0.1:${bed.httpPort}`, `http://localhost:${web.port}/c${i}`],
      ),
    );
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      expect(r.stderr).toBe('');
      expect(sha256(r.stdout)).toBe(sha256(bodyFor(`/c${i}`)));
    });
    expect(maxQueued).toBeGreaterThanOrEqual(1);
    expect(bed.proxies.pool.stats()).toMatchObject({ queued: 0, modules: [{ inUse: 0 }] });
  });

  it('waiting clients get links in arrival order', async () => {
    const bed = await startBed({ queueTimeoutMs: 60_000 });
    const echo = await startEchoServer();
    defer(() => echo.close());
    const held = [];
    for (let i = 0; i < 6; i++) {
      const c = await rawClient(bed.socksPort);
      c.socket.write(socksConnect(bed.socksPort, echo.port));
      await readBytes(c.socket, 12);
      held.push(c);
    }
    const order: number[] = [];
    const waiting = [];
    for (let i = 0; i < 4; i++) {
      const c = await rawClient(bed.socksPort);
      c.socket.write(socksConnect(bed.socksPort, echo.port));
      void readBytes(c.socket, 12, 60_000).then(() => order.push(i));
      waiting.push(c);
      // Each is queued before the next connects.
      await until(() => bed.proxies.pool.stats().queued === i + 1, 10_000, `client ${i} queued`);
    }
    expect(bed.proxies.pool.stats().queued).toBe(4);
    for (const c of held.slice(0, 4)) {
      c.socket.destroy();
      await new Promise((r) => setTimeout(r, 300));
    }
    await until(() => order.length === 4, 20_000, 'all four served');
    expect(order).toEqual([0, 1, 2, 3]);
    for (const c of [...held, ...waiting]) c.socket.destroy();
  });

  it('--max-queue 2: beyond two waiting, curl gets a clear refusal at once (503 / SOCKS 0x01)', async () => {
    const bed = await startBed({ maxQueue: 2, queueTimeoutMs: 60_000 });
    const echo = await startEchoServer();
    defer(() => echo.close());
    const held = [];
    for (let i = 0; i < 8; i++) {
      const c = await rawClient(bed.socksPort);
      c.socket.write(socksConnect(bed.socksPort, echo.port));
      held.push(c);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(bed.proxies.pool.stats().queued).toBe(2);
    const t0 = Date.now();
    const http503 = await curl(['-x', `http://127.0.0.1:${bed.httpPort}`, '-i', `http://127.0.0.1:${echo.port}/`]);
    expect(http503.stdout.toString()).toMatch(/^HTTP\/1\.1 503 [\s\S]*too many connections wait for a module link/);
    const socks = await curl(['--socks5', `127.0.0.1:${bed.socksPort}`, `http://127.0.0.1:${echo.port}/`]);
    expect(socks.code).toBe(97);
    expect(socks.stderr).toMatch(/\(1\)/);
    // At once: the queue timeout (60 s) was not waited for.
    expect(Date.now() - t0).toBeLessThan(30_000);
    for (const c of held) c.socket.destroy();
  });

  it("half-close: the client's FIN reaches the server after all its data; the server's close reaches the client after all of its data", async () => {
    const bed = await startBed();
    const got: { hash: string; n: number }[] = [];
    const sendBack = randomBytes(300 * 1024);
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      s.on('end', () => {
        got.push({ hash: h.digest('hex'), n });
        s.end();
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    // Client → server, then FIN.
    const up = randomBytes(200 * 1024);
    const a = await rawClient(bed.socksPort);
    a.socket.write(socksConnect(bed.socksPort, port));
    await readBytes(a.socket, 12);
    a.socket.end(up);
    await a.closed;
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([{ hash: sha256(up), n: up.length }]);
    // Server → client, then close.
    const pusher = net.createServer((s) => s.end(sendBack));
    await new Promise<void>((r) => pusher.listen(0, '127.0.0.1', r));
    defer(() => new Promise<void>((r) => pusher.close(() => r())));
    const b = await rawClient(bed.socksPort);
    b.socket.write(socksConnect(bed.socksPort, (pusher.address() as AddressInfo).port));
    const { data } = await b.closed;
    expect(sha256(data.subarray(12))).toBe(sha256(sendBack));
  });

  it('--idle-timeout: an idle tunnel is closed, a busy one is not', async () => {
    const bed = await startBed({ idleTimeoutMs: 600 });
    const echo = await startEchoServer();
    defer(() => echo.close());
    const idle = await rawClient(bed.socksPort);
    idle.socket.write(socksConnect(bed.socksPort, echo.port));
    await readBytes(idle.socket, 12);
    const busy = await rawClient(bed.socksPort);
    busy.socket.write(socksConnect(bed.socksPort, echo.port));
    await readBytes(busy.socket, 12);
    const t0 = Date.now();
    let closedAt = 0;
    void idle.closed.then(() => (closedAt = Date.now()));
    while (Date.now() - t0 < 1800) {
      busy.socket.write('ping');
      await readBytes(busy.socket, 4);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - t0).toBeGreaterThanOrEqual(500);
    expect(busy.socket.destroyed).toBe(false);
    busy.socket.destroy();
  });
});
