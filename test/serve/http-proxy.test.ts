import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTestPki } from '../helpers/certs.js';
import { closedPort } from '../helpers/servers.js';
import { defer, expectThroughModule, sha256, until } from '../integration/helpers.js';
import { startHttpServer } from '../adapters/http-server.js';
import { curl, PYTHON, rawClient, run, startBed } from './helpers.js';

/** Answers every request with the headers it received, as JSON; the response carries hop-by-hop headers of its own. */
async function startHeaderEcho(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      connection: 'x-resp-hop',
      'x-resp-hop': 'drop me',
      'x-resp-e2e': 'keep me',
    });
    res.end(JSON.stringify({ rawHeaders: req.rawHeaders, url: req.url }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const PY_URLLIB = `
import urllib.request, ssl, sys, hashlib
proxy, url = sys.argv[1], sys.argv[2]
cafile = sys.argv[3] if len(sys.argv) > 3 else None
handlers = [urllib.request.ProxyHandler({"http": proxy, "https": proxy})]
if cafile:
    handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
opener = urllib.request.build_opener(*handlers)
try:
    body = opener.open(url, timeout=60).read()
    print(len(body), hashlib.sha256(body).hexdigest())
except urllib.error.HTTPError as e:
    print("HTTP", e.code, e.headers.get("Proxy-Authenticate", ""))
`;

describe('HTTP proxy with real clients', () => {
  it('curl -x: absolute-URI GET and POST of 1 MB, SHA-256 checked, through the module', async () => {
    const bed = await startBed();
    const web = await startHttpServer();
    defer(() => web.close());
    const get = await curl(['-x', `http://127.0.0.1:${bed.httpPort}`, `http://localhost:${web.port}/blob`]);
    expect(get.stderr).toBe('');
    expect(sha256(get.stdout)).toBe(sha256(web.blob));
    const body = randomBytes(1024 * 1024);
    const post = await curl(
      ['-x', `http://127.0.0.1:${bed.httpPort}`, '--data-binary', '@-', `http://localhost:${web.port}/upload`],
      { input: body },
    );
    expect(JSON.parse(post.stdout.toString())).toEqual({ sha256: sha256(body), length: body.length });
    expectThroughModule(bed.mocks[0]!, web.port, 'pull');
  });

  it('CONNECT tunnels: HTTPS with the test CA (curl and Python urllib), 1 MB each way', async () => {
    const pki = makeTestPki();
    const ca = join(pki.dir, 'ca.crt');
    const bed = await startBed();
    const web = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => web.close());
    const get = await curl([
      '-x',
      `http://127.0.0.1:${bed.httpPort}`,
      '--cacert',
      ca,
      `https://localhost:${web.port}/blob`,
    ]);
    expect(get.stderr).toBe('');
    expect(sha256(get.stdout)).toBe(sha256(web.blob));
    const body = randomBytes(1024 * 1024);
    const post = await curl(
      [
        '-x',
        `http://127.0.0.1:${bed.httpPort}`,
        '--cacert',
        ca,
        '--data-binary',
        '@-',
        `https://localhost:${web.port}/upload`,
      ],
      { input: body },
    );
    expect(JSON.parse(post.stdout.toString())).toEqual({ sha256: sha256(body), length: body.length });
    const py = await run(PYTHON, [
      '-c',
      PY_URLLIB,
      `http://127.0.0.1:${bed.httpPort}`,
      `https://localhost:${web.port}/blob`,
      ca,
    ]);
    expect(py.stderr).toBe('');
    expect(py.stdout.toString().trim()).toBe(`${web.blob.length} ${sha256(web.blob)}`);
  });

  it('Python urllib through the forward proxy: 1 MB GET byte-exact', async () => {
    const bed = await startBed();
    const web = await startHttpServer();
    defer(() => web.close());
    const py = await run(PYTHON, [
      '-c',
      PY_URLLIB,
      `http://127.0.0.1:${bed.httpPort}`,
      `http://localhost:${web.port}/blob`,
    ]);
    expect(py.stderr).toBe('');
    expect(py.stdout.toString().trim()).toBe(`${web.blob.length} ${sha256(web.blob)}`);
  });

  it('drops hop-by-hop headers both ways, adds Via, keeps the client connection alive', async () => {
    const bed = await startBed();
    const echo = await startHeaderEcho();
    defer(() => echo.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    defer(() => agent.destroy());
    const ask = () =>
      new Promise<{ res: http.IncomingMessage; body: string; reused: boolean }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: bed.httpPort,
            path: `http://localhost:${echo.port}/p?q=1`,
            agent,
            headers: {
              host: `localhost:${echo.port}`,
              connection: 'keep-alive, x-hop',
              'x-hop': 'secret',
              'keep-alive': 'timeout=5',
              te: 'trailers',
              'proxy-authorization': 'Basic Zm9vOmJhcg==',
              'x-e2e': 'yes',
            },
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ res, body, reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const first = await ask();
    const seen = JSON.parse(first.body) as { rawHeaders: string[]; url: string };
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(seen.url).toBe('/p?q=1');
    for (const hop of ['x-hop', 'keep-alive', 'te', 'proxy-authorization']) expect(names).not.toContain(hop);
    expect(names).toContain('x-e2e');
    expect(seen.rawHeaders[seen.rawHeaders.findIndex((h) => h.toLowerCase() === 'via') + 1]).toBe('1.1 air780');
    expect(first.res.headers['x-resp-hop']).toBeUndefined();
    expect(first.res.headers['x-resp-e2e']).toBe('keep me');
    expect(first.res.headers.via).toBe('1.1 air780');
    const second = await ask();
    expect(second.reused).toBe(true);
    expect(echo.connections()).toBe(2); // one module link per request upstream
  });

  it('407 with Proxy-Authenticate without or with wrong credentials (forward and CONNECT); right ones pass', async () => {
    const bed = await startBed({ auth: { user: 'bob', pass: 'pw' } });
    const web = await startHttpServer();
    defer(() => web.close());
    const proxy = `http://127.0.0.1:${bed.httpPort}`;
    const none = await curl(['-x', proxy, '-i', `http://localhost:${web.port}/hello`]);
    expect(none.stdout.toString()).toMatch(/^HTTP\/1\.1 407 [\s\S]*Proxy-Authenticate: Basic realm="air780"/);
    const wrong = await curl([
      '-x',
      proxy,
      '--proxy-user',
      'bob:nope',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://localhost:${web.port}/hello`,
    ]);
    expect(wrong.stdout.toString()).toBe('407');
    const tunnel = await curl([
      '-x',
      proxy,
      '-p',
      '-o',
      '/dev/null',
      '-w',
      '%{http_connect}',
      `http://localhost:${web.port}/hello`,
    ]);
    expect(tunnel.code).toBe(56);
    expect(tunnel.stdout.toString()).toBe('407');
    const ok = await curl(['-x', proxy, '--proxy-user', 'bob:pw', `http://localhost:${web.port}/hello`]);
    expect(ok.stdout.toString()).toBe('hello');
    const okTunnel = await curl([
      '-x',
      `http://bob:pw@127.0.0.1:${bed.httpPort}`,
      '-p',
      `http://localhost:${web.port}/hello`,
    ]);
    expect(okTunnel.stdout.toString()).toBe('hello');
    const py = await run(PYTHON, ['-c', PY_URLLIB, proxy, `http://localhost:${web.port}/hello`]);
    expect(py.stdout.toString().trim()).toBe('HTTP 407 Basic realm="air780", charset="UTF-8"');
  });

  it('maps module failures: refused 502, timeout 504, no module 503, each with a one-line reason', async () => {
    const bed = await startBed({
      mock: { blackhole: ['127.0.0.2'], registrationDelayMs: 1500 },
      modem: { connectTimeoutMs: 500 },
    });
    const proxy = `http://127.0.0.1:${bed.httpPort}`;
    const status = async (url: string, tunnel = false) => {
      const r = await curl(['-x', proxy, ...(tunnel ? ['-p'] : []), '-i', url]);
      return r.stdout.toString();
    };
    const refused = await closedPort();
    expect(await status(`http://127.0.0.1:${refused}/`)).toMatch(
      /^HTTP\/1\.1 502 [\s\S]*\r\n\r\n502 Bad Gateway: the destination refused the connection \(through the module\)\n$/,
    );
    expect(await status(`http://127.0.0.2:81/`)).toMatch(/^HTTP\/1\.1 504 [\s\S]*504 Gateway Timeout: /);
    expect(await status(`http://127.0.0.1:${refused}/`, true)).toMatch(/^HTTP\/1\.1 502 /);
    expect(await status(`http://[::1]:${refused}/`)).toMatch(/^HTTP\/1\.1 502 [\s\S]*IPv6/);
    bed.mocks[0]!.reboot({ delayMs: 50 });
    await until(() => bed.modems[0]!.state !== 'online', 10_000, 'recovering');
    expect(await status(`http://127.0.0.1:${refused}/`)).toMatch(/^HTTP\/1\.1 503 [\s\S]*no module is online/);
  });

  it('hostile heads: oversized 431, CR/LF in the target 400, byte by byte still served; a concurrent download intact', async () => {
    const bed = await startBed({ handshakeTimeoutMs: 2000 });
    const web = await startHttpServer();
    defer(() => web.close());
    const download = curl(['-x', `http://127.0.0.1:${bed.httpPort}`, `http://localhost:${web.port}/blob`]);
    const send = async (head: string | Buffer, byteByByte = false) => {
      const c = await rawClient(bed.httpPort);
      c.socket.on('error', () => {});
      const b = Buffer.from(head);
      if (byteByByte) for (const x of b) await new Promise<void>((r) => c.socket.write(Buffer.from([x]), () => r()));
      else c.socket.write(b);
      return (await c.closed).data.toString('latin1');
    };
    const big = `GET http://localhost:${web.port}/hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    expect(await send(big)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await send(`GET http://localhost:${web.port}/he\rllo HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 400 /,
    );
    expect(await send(`GET http://localhost:${web.port}/he\tllo HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 400 /,
    );
    // A bare LF ends the request line early: the target is 'http://local', refused one way or another.
    expect(await send(`GET http://local\nhost:${web.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 (400|502) /,
    );
    expect(await send(`CONNECT localhost\r\n:${web.port} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(await send(`CONNECT localhost:99999 HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(await send(`GET /not-absolute HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 400 [\s\S]*absolute/,
    );
    // Garbage (a NUL first, so no method can start): refused with 400, whatever follows.
    expect(await send(Buffer.concat([Buffer.from([0]), randomBytes(2999)]))).toMatch(/^HTTP\/1\.1 400 /);
    // A slow but valid head, one byte at a time: served.
    const slow = await send(
      `GET http://localhost:${web.port}/hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      true,
    );
    expect(slow).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n(5\r\n)?hello(\r\n0\r\n\r\n)?$/);
    // A head that never ends is closed by the deadline.
    const t0 = Date.now();
    const c = await rawClient(bed.httpPort);
    c.socket.write('GET http://localhost/ HTTP/1.1\r\nX-Slow: ');
    const stalled = await c.closed;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(stalled.data.toString()).toMatch(/^HTTP\/1\.1 408 /);
    expect(
      bed.mocks[0]!.commands().filter((c) => /CIPSTART|CDNSGIP/.test(c) && !/"(localhost|127\.0\.0\.1|local)"/.test(c)),
    ).toEqual([]);
    const d = await download;
    expect(sha256(d.stdout)).toBe(sha256(web.blob));
  });
});
