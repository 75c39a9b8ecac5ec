/**
 * followRedirects: credentials (URL userinfo, and every header the user set unless listed in
 * redirectHeaders) go only to the first origin. A redirect to another host or port, or from wss to ws,
 * drops them for the rest of the chain, as the ws package does (curl 7.77 rules), and stricter:
 * they do not come back when the chain returns to the first origin.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WebSocketClient, type WebSocketClientOptions } from '../../src/ws/index.js';
import { makeTestPki } from '../helpers/certs.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Hop {
  port: number;
  /** Every handshake request this server got, in order: [path, headers]. */
  requests: Array<{ secure: boolean; url: string; headers: http.IncomingHttpHeaders }>;
  /** Answer `path` with 302 to `location` instead of upgrading. */
  redirects: Map<string, string>;
}

/**
 * A websocket server on 127.0.0.1 that redirects the paths it was told to and upgrades the rest.
 * With `tls`, one port speaks both TLS and plain HTTP (told apart by the first byte), so that a
 * wss→ws redirect can keep host and port.
 */
async function startHop(tls?: { cert: string; key: string }): Promise<Hop> {
  const wss = new WebSocketServer({ noServer: true });
  const hop: Hop = { port: 0, requests: [], redirects: new Map() };
  const onUpgrade = (secure: boolean) => (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    hop.requests.push({ secure, url: req.url ?? '', headers: req.headers });
    socket.on('error', () => {});
    const loc = hop.redirects.get(req.url ?? '');
    if (loc) {
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${loc}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => {}));
  };
  const plain = http.createServer();
  plain.on('upgrade', onUpgrade(false));
  const secure = tls ? https.createServer(tls) : null;
  secure?.on('upgrade', onUpgrade(true));
  const sockets = new Set<net.Socket>();
  const front = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.once('data', (first: Buffer) => {
      if (secure && first[0] === 0x16) {
        // TLS reads the socket's handle directly and would miss an unshifted first chunk: hand it
        // a stream that replays it instead.
        secure.emit('connection', replay(s, first));
        return;
      }
      s.pause();
      s.unshift(first);
      plain.emit('connection', s);
      s.resume();
    });
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  hop.port = (front.address() as net.AddressInfo).port;
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        for (const s of sockets) s.destroy();
        front.close(() => r());
      }),
  );
  return hop;
}

/** A Duplex that reads `first` and then whatever `s` reads, and writes into `s`. */
function replay(s: net.Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read: () => void s.resume(),
    write: (chunk: Buffer, _enc, cb) => void s.write(chunk, cb),
    final: (cb) => {
      s.end();
      cb();
    },
    destroy: (err, cb) => {
      s.destroy();
      cb(err);
    },
  });
  d.push(first);
  s.on('data', (c: Buffer) => {
    if (!d.push(c)) s.pause();
  });
  s.on('end', () => d.push(null));
  s.on('close', () => d.destroy());
  return d;
}

const SECRETS = {
  Authorization: 'Bearer header-secret',
  Cookie: 'sid=cookie-secret',
  'X-Api-Key': 'apikey-secret',
  'Proxy-Authorization': 'Basic proxy-secret',
  'X-Auth-Token': 'token-secret',
};
const CREDENTIAL_NAMES = Object.keys(SECRETS).map((n) => n.toLowerCase());

async function open(url: string, extra: WebSocketClientOptions = {}): Promise<void> {
  const c = new WebSocketClient(url, {
    followRedirects: true,
    keepaliveMs: 0,
    headers: { ...SECRETS, 'X-Keep': 'kept' },
    ...extra,
  });
  cleanup.push(() => c.terminate());
  await c.opened();
}

function credentialsIn(h: http.IncomingHttpHeaders): string[] {
  return CREDENTIAL_NAMES.filter((n) => h[n] !== undefined);
}

describe('redirects and credentials', () => {
  it('to another port: Authorization, Cookie, X-Api-Key, … and URL userinfo are dropped; others only when listed in redirectHeaders', async () => {
    const a = await startHop();
    const b = await startHop();
    a.redirects.set('/start', `ws://127.0.0.1:${b.port}/final`);
    await open(`ws://user:pw@127.0.0.1:${a.port}/start`);
    expect(credentialsIn(a.requests[0]!.headers)).toEqual(CREDENTIAL_NAMES);
    expect(b.requests).toHaveLength(1);
    expect(credentialsIn(b.requests[0]!.headers)).toEqual([]);
    expect(b.requests[0]!.headers['x-keep']).toBeUndefined();
    await open(`ws://user:pw@127.0.0.1:${a.port}/start`, { redirectHeaders: ['X-Keep'] });
    expect(credentialsIn(b.requests[1]!.headers)).toEqual([]);
    expect(b.requests[1]!.headers['x-keep']).toBe('kept');
  });

  it('URL userinfo alone (no Authorization header) is not forwarded either', async () => {
    const a = await startHop();
    const b = await startHop();
    a.redirects.set('/start', `ws://127.0.0.1:${b.port}/final`);
    await open(`ws://user:pw@127.0.0.1:${a.port}/start`, { headers: {} });
    expect(a.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    expect(b.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('to another host name on the same port (127.0.0.1 → localhost): dropped', async () => {
    const a = await startHop();
    a.redirects.set('/start', `ws://localhost:${a.port}/final`);
    await open(`ws://127.0.0.1:${a.port}/start`);
    expect(a.requests.map((r) => r.url)).toEqual(['/start', '/final']);
    expect(credentialsIn(a.requests[1]!.headers)).toEqual([]);
  });

  it('on the same host and port: everything is kept, URL userinfo included', async () => {
    const a = await startHop();
    a.redirects.set('/start', '/final');
    await open(`ws://user:pw@127.0.0.1:${a.port}/start`, { headers: { Cookie: 'sid=1', 'X-Api-Key': 'k' } });
    expect(a.requests.map((r) => r.url)).toEqual(['/start', '/final']);
    const h = a.requests[1]!.headers;
    expect(h.authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    expect(h.cookie).toBe('sid=1');
    expect(h['x-api-key']).toBe('k');
  });

  it('once dropped, they stay dropped when the chain comes back to the first origin', async () => {
    const a = await startHop();
    const b = await startHop();
    a.redirects.set('/start', `ws://127.0.0.1:${b.port}/via`);
    b.redirects.set('/via', `ws://user:pw@127.0.0.1:${a.port}/back`);
    await open(`ws://127.0.0.1:${a.port}/start`);
    expect(a.requests.map((r) => r.url)).toEqual(['/start', '/back']);
    expect(credentialsIn(b.requests[0]!.headers)).toEqual([]);
    expect(credentialsIn(a.requests[1]!.headers)).toEqual([]);
    expect(a.requests[1]!.headers['x-keep']).toBeUndefined();
  });

  it('wss → ws on the same host and port (a downgrade): dropped; ws → wss there: kept', async () => {
    const pki = makeTestPki();
    const a = await startHop({ cert: pki.serverCert, key: pki.serverKey });
    a.redirects.set('/down', `ws://localhost:${a.port}/plain`);
    a.redirects.set('/up', `wss://localhost:${a.port}/tls`);
    await open(`wss://localhost:${a.port}/down`, { tls: { ca: pki.caCert } });
    expect(a.requests.map((r) => [r.secure, r.url])).toEqual([
      [true, '/down'],
      [false, '/plain'],
    ]);
    expect(credentialsIn(a.requests[0]!.headers)).toEqual(CREDENTIAL_NAMES);
    expect(credentialsIn(a.requests[1]!.headers)).toEqual([]);
    a.requests.length = 0;
    await open(`ws://localhost:${a.port}/up`, { tls: { ca: pki.caCert } });
    expect(a.requests.map((r) => [r.secure, r.url])).toEqual([
      [false, '/up'],
      [true, '/tls'],
    ]);
    expect(credentialsIn(a.requests[1]!.headers)).toEqual(CREDENTIAL_NAMES);
  });
});
