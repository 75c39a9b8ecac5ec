import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/build.js';
import { useBuiltCli } from '../cli/spawn.js';
import { makeTestPki } from '../helpers/certs.js';
import { startEchoServer } from '../helpers/servers.js';
import { defer, sha256 } from '../integration/helpers.js';
import { startHttpServer } from '../adapters/http-server.js';
import { curl, rawClient, readBytes } from './helpers.js';
import { spawnServe } from './spawn-serve.js';

useBuiltCli();

const AUTH = 'carol:pa55-w0rd:with-colon';

describe('air780 serve (spawned)', () => {
  it('--mock with AIR780_PROXY_AUTH: SOCKS5 (module-only name) and HTTP (forward + CONNECT/TLS) with curl, 1 MB each way; --log has no secrets; SIGTERM exits 0 within 5 s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-serve-'));
    const log = join(dir, 'tunnels.jsonl');
    const web = await startHttpServer();
    defer(() => web.close());
    const pki = makeTestPki();
    const tlsWeb = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => tlsWeb.close());
    const serve = await spawnServe(['--mock', '--log', log], {
      AIR780_PROXY_AUTH: AUTH,
      AIR780_MOCK_HOSTS: '{"web.only-the-module.test":"127.0.0.1"}',
    });
    expect(serve.stderr).toMatch(
      /serve: ready socks=127\.0\.0\.1:\d+ http=127\.0\.0\.1:\d+ status=127\.0\.0\.1:\d+ modules=1 auth=on/,
    );
    const socks = `socks5h://carol:pa55-w0rd%3Awith-colon@127.0.0.1:${serve.socksPort}`;
    const get = await curl(['-x', socks, `http://web.only-the-module.test:${web.port}/blob`]);
    expect(get.stderr).toBe('');
    expect(sha256(get.stdout)).toBe(sha256(web.blob));
    const body = randomBytes(1024 * 1024);
    const up = await curl(['-x', socks, '--data-binary', '@-', `http://web.only-the-module.test:${web.port}/upload`], {
      input: body,
    });
    expect(JSON.parse(up.stdout.toString())).toEqual({ sha256: sha256(body), length: body.length });
    const proxy = ['-x', `http://127.0.0.1:${serve.httpPort}`, '--proxy-user', AUTH];
    const fwd = await curl([...proxy, `http://localhost:${web.port}/blob`]);
    expect(sha256(fwd.stdout)).toBe(sha256(web.blob));
    const tls = await curl(
      [...proxy, '--cacert', join(pki.dir, 'ca.crt'), '--data-binary', '@-', `https://localhost:${tlsWeb.port}/upload`],
      { input: body },
    );
    expect(JSON.parse(tls.stdout.toString())).toEqual({ sha256: sha256(body), length: body.length });
    const tlsGet = await curl([...proxy, '--cacert', join(pki.dir, 'ca.crt'), `https://localhost:${tlsWeb.port}/blob`]);
    expect(sha256(tlsGet.stdout)).toBe(sha256(tlsWeb.blob));
    const denied = await curl([
      '-x',
      `http://127.0.0.1:${serve.httpPort}`,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://localhost:${web.port}/hello`,
    ]);
    expect(denied.stdout.toString()).toBe('407');

    const t0 = Date.now();
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const text = readFileSync(log, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    // The download's tunnel: the name as the client gave it, the bytes the body took (plus the head).
    const download = lines.find(
      (l) =>
        l.proxy === 'socks' &&
        l.destination === `web.only-the-module.test:${web.port}` &&
        (l.down as number) > web.blob.length,
    );
    expect(download).toMatchObject({
      module: 'mock0',
      ended: 'closed',
      client: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    expect(lines.some((l) => l.proxy === 'connect' && (l.up as number) > body.length)).toBe(true);
    expect(lines.some((l) => l.proxy === 'http' && (l.down as number) >= web.blob.length)).toBe(true);
    // Only these fields, ever: no payload, no header, no credential has a place to go.
    const allowed = ['client', 'destination', 'down', 'durationMs', 'ended', 'error', 'module', 'proxy', 'time', 'up'];
    for (const l of lines) expect(allowed).toEqual(expect.arrayContaining(Object.keys(l)));
    expect(text).not.toMatch(/pa55|carol|cGE1N|Y2Fyb2w/);
    expect(serve.stderr).not.toMatch(/pa55/);
  });

  it('refuses a non-loopback bind without credentials (exit 2 with a hint), bad values too', async () => {
    const r = await runCli(['serve', '--mock', '--socks', '0.0.0.0:1080'], { env: { AIR780_PROXY_AUTH: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/0\.0\.0\.0 \(beyond this machine\) needs credentials/);
    expect(r.stderr).toMatch(/hint: set AIR780_PROXY_AUTH=/);
    const h = await runCli(['serve', '--mock', '--http-proxy', '192.168.1.2:3128', '--socks', 'off'], {
      env: { AIR780_PROXY_AUTH: '' },
    });
    expect(h.code).toBe(2);
    expect((await runCli(['serve', '--mock', '--auth', 'nopassword'])).code).toBe(2);
    expect((await runCli(['serve', '--mock', '--socks', 'off', '--http-proxy', 'off'])).code).toBe(2);
    expect((await runCli(['serve', '--mock', '99'])).code).toBe(2);
    expect((await runCli(['serve', '--socks', 'nonsense'])).code).toBe(2);
  });

  it('a listen address in use is one line naming the flag to change (exit 1), for a proxy and the status server', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    defer(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as net.AddressInfo).port;
    const s = await runCli([
      'serve',
      '--mock',
      '--socks',
      `127.0.0.1:${port}`,
      '--http-proxy',
      'off',
      '--status',
      'off',
    ]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(`air780: 127.0.0.1:${port} (--socks) is already in use\n`);
    expect(s.stderr).toContain(
      'hint: another air780 serve may be running there; choose another address with --socks HOST:PORT, or --socks off',
    );
    const st = await runCli([
      'serve',
      '--mock',
      '--socks',
      'off',
      '--http-proxy',
      '127.0.0.1:0',
      '--status',
      `127.0.0.1:${port}`,
    ]);
    expect(st.code).toBe(1);
    expect(st.stderr).toContain(`air780: 127.0.0.1:${port} (--status) is already in use\n`);
  });

  it('SIGINT with tunnels open: they end, exit 0 within 5 s', async () => {
    const echo = await startEchoServer();
    defer(() => echo.close());
    const serve = await spawnServe(['--mock']);
    const c = await rawClient(serve.socksPort);
    c.socket.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echo.port >> 8, echo.port & 0xff]));
    await readBytes(c.socket, 12);
    c.socket.write('still here');
    expect((await readBytes(c.socket, 10)).toString()).toBe('still here');
    const t0 = Date.now();
    serve.signal('SIGINT');
    expect(await serve.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    await c.closed;
  });
});
