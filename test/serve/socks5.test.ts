import dns from 'node:dns';
import { isIPv4 } from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { closedPort } from '../helpers/servers.js';
import { defer, expectThroughModule, sha256, until } from '../integration/helpers.js';
import { startHttpServer } from '../adapters/http-server.js';
import { curl, PYTHON, rawClient, readBytes, run, startBed } from './helpers.js';

/** A SOCKS5 CONNECT request for a name. */
function domainRequest(host: string, port: number, cmd = 0x01): Buffer {
  const name = Buffer.from(host);
  return Buffer.concat([Buffer.from([5, cmd, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]);
}

function ipv4Request(ip: string, port: number, cmd = 0x01): Buffer {
  return Buffer.from([5, cmd, 0, 1, ...ip.split('.').map(Number), port >> 8, port & 0xff]);
}

/** Greeting (no auth), then `request`; resolves with the reply code and what else was received. */
async function socksReplyCode(socksPort: number, request: Buffer): Promise<number> {
  const c = await rawClient(socksPort);
  c.socket.write(Buffer.from([5, 1, 0]));
  const hello = await readBytes(c.socket, 2);
  expect([...hello]).toEqual([5, 0]);
  c.socket.write(request);
  const data = (await c.closed).data.subarray(2);
  expect(data.length).toBe(10);
  expect(data[0]).toBe(5);
  return data[1]!;
}

const PY_GET = `
import socks, sys, hashlib
host, port, target, tport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
user = sys.argv[5] if len(sys.argv) > 5 else None
pw = sys.argv[6] if len(sys.argv) > 6 else None
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, host, port, rdns=True, username=user, password=pw)
s.settimeout(60)
try:
    s.connect((target, tport))
except socks.ProxyError as e:
    print("ERROR", type(e).__name__, e)
    sys.exit(3)
s.sendall(b"GET /blob HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
head, body = data.split(b"\\r\\n\\r\\n", 1)
print(len(body), hashlib.sha256(body).hexdigest())
`;

describe('SOCKS5 with real clients', () => {
  it('curl --socks5-hostname and --socks5: 1 MB download and 1 MB upload, SHA-256 checked, through the module', async () => {
    const bed = await startBed();
    const web = await startHttpServer();
    defer(() => web.close());
    for (const mode of ['--socks5-hostname', '--socks5']) {
      const host = mode === '--socks5' ? '127.0.0.1' : 'localhost';
      const get = await curl([mode, `127.0.0.1:${bed.socksPort}`, `http://${host}:${web.port}/blob`]);
      expect(get.stderr).toBe('');
      expect(get.code).toBe(0);
      expect(sha256(get.stdout)).toBe(sha256(web.blob));
      const body = randomBytes(1024 * 1024);
      const post = await curl(
        [
          mode,
          `127.0.0.1:${bed.socksPort}`,
          '--data-binary',
          '@-',
          '-H',
          'Content-Type: application/octet-stream',
          `http://${host}:${web.port}/upload`,
        ],
        { input: body },
      );
      expect(post.code).toBe(0);
      expect(JSON.parse(post.stdout.toString())).toEqual({ sha256: sha256(body), length: body.length });
    }
    expectThroughModule(bed.mocks[0]!, web.port, 'pull');
  });

  it("a name is resolved by the module, never by the host's resolver (socks5h)", async () => {
    const name = 'only-the-module.test';
    // The module knows the name; addresses stay addresses; nothing else resolves.
    const bed = await startBed({ mock: { resolve: (h) => (h === name ? '127.0.0.1' : isIPv4(h) ? h : undefined) } });
    const web = await startHttpServer();
    defer(() => web.close());
    const lookup = vi.spyOn(dns, 'lookup');
    const plookup = vi.spyOn(dns.promises, 'lookup');
    defer(() => {
      lookup.mockRestore();
      plookup.mockRestore();
    });
    const ok = await curl(['--socks5-hostname', `127.0.0.1:${bed.socksPort}`, `http://${name}:${web.port}/hello`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toBe('hello');
    expect(bed.mocks[0]!.commands()).toContain(`AT+CDNSGIP="${name}"`);
    // curl --socks5 resolves on the host, which does not know the name: proof the name is module-only.
    const local = await curl(['--socks5', `127.0.0.1:${bed.socksPort}`, `http://${name}:${web.port}/hello`]);
    expect(local.code).toBe(97);
    expect(local.stderr).toMatch(/resolve/i);
    expect(lookup).not.toHaveBeenCalled();
    expect(plookup).not.toHaveBeenCalled();
  });

  it('python3 PySocks (Debian python3-socks) with username/password: 1 MB SHA-256; wrong password refused', async () => {
    const bed = await startBed({ auth: { user: 'alice', pass: 's3cret:x' } });
    const web = await startHttpServer();
    defer(() => web.close());
    const good = await run(PYTHON, [
      '-c',
      PY_GET,
      '127.0.0.1',
      String(bed.socksPort),
      'localhost',
      String(web.port),
      'alice',
      's3cret:x',
    ]);
    expect(good.stderr).toBe('');
    expect(good.stdout.toString().trim()).toBe(`${web.blob.length} ${sha256(web.blob)}`);
    const bad = await run(PYTHON, [
      '-c',
      PY_GET,
      '127.0.0.1',
      String(bed.socksPort),
      'localhost',
      String(web.port),
      'alice',
      'wrong',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stdout.toString()).toMatch(/ERROR .*(auth|Authentication)/i);
  });

  it('curl with credentials: right ones pass, missing or wrong ones are refused (exit 97)', async () => {
    const bed = await startBed({ auth: { user: 'u', pass: 'p' } });
    const web = await startHttpServer();
    defer(() => web.close());
    const ok = await curl(['-x', `socks5h://u:p@127.0.0.1:${bed.socksPort}`, `http://localhost:${web.port}/hello`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toBe('hello');
    const none = await curl(['-x', `socks5h://127.0.0.1:${bed.socksPort}`, `http://localhost:${web.port}/hello`]);
    expect(none.code).toBe(97);
    const wrong = await curl([
      '-x',
      `socks5h://u:nope@127.0.0.1:${bed.socksPort}`,
      `http://localhost:${web.port}/hello`,
    ]);
    expect(wrong.code).toBe(97);
  });

  it('maps failures to RFC 1928 reply codes', async () => {
    const bed = await startBed({
      mock: { resolve: (h) => (h === 'localhost' ? '127.0.0.1' : undefined), blackhole: ['127.0.0.2'] },
      modem: { connectTimeoutMs: 500 },
    });
    const refused = await closedPort();
    expect(await socksReplyCode(bed.socksPort, ipv4Request('127.0.0.1', refused))).toBe(0x05);
    expect(await socksReplyCode(bed.socksPort, domainRequest('nowhere.invalid', 80))).toBe(0x04);
    expect(await socksReplyCode(bed.socksPort, ipv4Request('127.0.0.2', 80))).toBe(0x06);
    expect(await socksReplyCode(bed.socksPort, Buffer.from([5, 1, 0, 4, ...Buffer.alloc(15), 1, 0, 80]))).toBe(0x08);
    expect(await socksReplyCode(bed.socksPort, ipv4Request('127.0.0.1', 80, 0x02))).toBe(0x07); // BIND
    expect(await socksReplyCode(bed.socksPort, ipv4Request('127.0.0.1', 80, 0x03))).toBe(0x07); // UDP ASSOCIATE
    expect(await socksReplyCode(bed.socksPort, Buffer.from([5, 1, 0, 9, 1, 2, 3, 4, 0, 80]))).toBe(0x08);
    // A name that would inject an AT command never reaches the module.
    expect(await socksReplyCode(bed.socksPort, domainRequest('a",1\r\nAT+CFUN=0', 80))).toBe(0x04);
    expect(bed.mocks[0]!.commands().some((c) => c.includes('CFUN=0'))).toBe(false);
  });

  it('module not online → 0x03; queue timeout → 0x01', async () => {
    const bed = await startBed({ mock: { registrationDelayMs: 2000 }, queueTimeoutMs: 300 });
    const web = await startHttpServer();
    defer(() => web.close());
    // Six tunnels hold every link; a seventh waits, then times out.
    const held = [];
    for (let i = 0; i < 6; i++) {
      const c = await rawClient(bed.socksPort);
      c.socket.write(Buffer.concat([Buffer.from([5, 1, 0]), ipv4Request('127.0.0.1', web.port)]));
      expect([...(await readBytes(c.socket, 12)).subarray(0, 4)]).toEqual([5, 0, 5, 0]);
      held.push(c);
    }
    expect(await socksReplyCode(bed.socksPort, ipv4Request('127.0.0.1', web.port))).toBe(0x01);
    bed.mocks[0]!.reboot({ delayMs: 50 });
    await until(() => bed.modems[0]!.state !== 'online', 10_000, 'recovering');
    // The reboot reset the held tunnels: each client sees the connection end, not a hang.
    for (const c of held) expect((await c.closed).error ?? 'closed').toMatch(/ECONNRESET|closed/);
    expect(await socksReplyCode(bed.socksPort, ipv4Request('127.0.0.1', web.port))).toBe(0x03);
  });
});
