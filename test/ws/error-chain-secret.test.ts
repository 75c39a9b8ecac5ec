/**
 * Issue 17 item 6: no error the library raises carries a secret anywhere in its chain — message,
 * stack, own properties, `cause` (what console.error and util.inspect print), and the causes'
 * properties (the URL parser's TypeError keeps the raw `input` and the `base`). Each error is
 * rendered with util.inspect (hidden properties too) and searched for the secrets. Crafted servers
 * on 127.0.0.1 answer with a bad redirect Location, a 401, or a close mid-handshake.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketClient, WsHandshakeError, WsUrlError } from '../../src/ws/index.js';

const SECRETS = ['S3CRETPW', 'QTOKVALUE', 'HDRTOKEN', 'LOCSECRET'];

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function rendered(err: unknown): string {
  return inspect(err, { depth: 20, showHidden: true, breakLength: Infinity });
}

function expectNoSecret(err: unknown): void {
  expect(err).toBeInstanceOf(Error);
  const text = rendered(err);
  for (const s of SECRETS) expect(text, `"${s}" in\n${text}`).not.toContain(s);
}

/** A TCP server that answers every request head with `answer` (or closes when it is null). */
async function crafted(answer: string | null): Promise<number> {
  const server = net.createServer((sock) => {
    let head = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (answer === null) sock.destroy();
      else sock.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** The first error of a client to `url`: from `opened()` and the 'error' event, which must agree. */
async function firstError(url: string, options: ConstructorParameters<typeof WebSocketClient>[1] = {}): Promise<Error> {
  const client = new WebSocketClient(url, {
    keepaliveMs: 0,
    handshakeTimeoutMs: 10_000,
    followRedirects: true,
    ...options,
  });
  cleanup.push(() => client.terminate());
  const events: Error[] = [];
  client.on('error', (e) => events.push(e));
  const err = await client.opened().then(
    () => new Error('opened'),
    (e: Error) => e,
  );
  for (const e of events) expectNoSecret(e);
  return err;
}

describe('errors from the constructor', () => {
  for (const url of [
    'wss://bob:S3CRETPW@example.com:99999/feed?token=QTOKVALUE',
    'ws://bob:S3CRETPW@[::1/x?token=QTOKVALUE',
    'ws://bob:S3/CRETPW@host:1/?token=QTOKVALUE',
    'ws://bob:S3@CRETPW@host:99999/',
    'ws://bob:S3 CRETPW@host:99999/?a=QTOKVALUE',
    'wss://bob:%E0S3CRETPW@example.com/feed',
    'ftp://bob:S3CRETPW@example.com/?token=QTOKVALUE',
  ]) {
    it(`${JSON.stringify(url)}: a WsUrlError whose whole chain holds neither password nor token`, () => {
      let err: unknown;
      try {
        new WebSocketClient(url, { autoConnect: false });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WsUrlError);
      expectNoSecret(err);
    });
  }

  it('bad header values: a WsHeaderError that does not quote the value', () => {
    for (const headers of [
      { Authorization: 'Bearer HDRTOKEN\r\nX-Y: z' },
      [['Authorization Bearer HDRTOKEN', 'v']],
      [['X-Token', { v: 'HDRTOKEN' }]],
    ] as unknown[]) {
      let err: unknown;
      try {
        new WebSocketClient('ws://127.0.0.1:1/', { autoConnect: false, headers: headers as Record<string, string> });
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('ERR_WS_BAD_HEADER');
      expectNoSecret(err);
    }
  });
});

describe('errors from crafted servers', () => {
  const secretOptions = { headers: { Authorization: 'Bearer HDRTOKEN', 'X-Token': 'HDRTOKEN' } };

  for (const location of [
    'http://[::1',
    'http://u:LOCSECRET@[::1/?q=LOCSECRET',
    'ftp://example.com/?q=LOCSECRET',
    'ws://h:99999/?k=LOCSECRET',
    'wss://x:LOCSECRET@host:123456/',
  ]) {
    it(`redirect to ${JSON.stringify(location)}: a WsHandshakeError (ERR_WS_REDIRECT), no secret in its chain`, async () => {
      const port = await crafted(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
      const err = await firstError(`ws://bob:S3CRETPW@127.0.0.1:${port}/feed?access_token=QTOKVALUE`, secretOptions);
      expect(err).toBeInstanceOf(WsHandshakeError);
      expect((err as WsHandshakeError).code).toBe('ERR_WS_REDIRECT');
      expect(err.message).toMatch(/redirected/);
      expectNoSecret(err);
    });
  }

  it('a 401 answer and a close during the handshake: no secret of the request in the chain', async () => {
    const p401 = await crafted('HTTP/1.1 401 Unauthorized\r\nContent-Length: 9\r\n\r\nno access');
    const e401 = await firstError(`ws://bob:S3CRETPW@127.0.0.1:${p401}/feed?access_token=QTOKVALUE`, secretOptions);
    expect((e401 as WsHandshakeError).statusCode).toBe(401);
    expectNoSecret(e401);
    const pClose = await crafted(null);
    const eClose = await firstError(`ws://bob:S3CRETPW@127.0.0.1:${pClose}/feed?access_token=QTOKVALUE`, secretOptions);
    expect((eClose as { code?: string }).code).toMatch(/^ERR_WS_/);
    expectNoSecret(eClose);
  });
});
