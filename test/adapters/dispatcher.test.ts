import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fetch as undiciFetch, request as undiciRequest } from 'undici';
import { PeerDependencyMissingError } from '../../src/index.js';
import { loadPeer } from '../../src/adapters/dispatcher.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer, openModem, until } from '../integration/helpers.js';
import { sha256, startHttpServer } from './http-server.js';

const cipstarts = (cmds: string[]) => cmds.filter((c) => /^AT\+CIPSTART=/.test(c)).length;

describe('modem.dispatcher (undici)', () => {
  it('fetch GET: JSON, and 1 MiB byte-exact; undici.request too; keep-alive on one link', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const dispatcher = modem.dispatcher();
    defer(() => dispatcher.close());
    expect(await (await undiciFetch(`${server.url}/hello`, { dispatcher })).text()).toBe('hello');
    expect(cipstarts(mock.commands())).toBe(1);
    const json = await undiciFetch(`${server.url}/json`, { dispatcher });
    expect(await json.json()).toEqual({ ok: true, via: 'module' });
    const blob = await undiciFetch(`${server.url}/blob`, { dispatcher });
    const body = Buffer.from(await blob.arrayBuffer());
    expect(sha256(body)).toBe(blob.headers.get('x-sha256'));
    expect(sha256(body)).toBe(sha256(server.blob));
    const { statusCode, body: hello } = await undiciRequest(`${server.url}/hello`, { dispatcher });
    expect(statusCode).toBe(200);
    expect(await hello.text()).toBe('hello');
    // undici may open a second connection while a body is still being read (it does on the host too).
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it("Node's own global fetch takes it as well", async () => {
    const { modem } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const dispatcher = modem.dispatcher();
    defer(() => dispatcher.close());
    const res = await fetch(`${server.url}/json`, { dispatcher } as RequestInit);
    expect(await res.json()).toEqual({ ok: true, via: 'module' });
    expect(server.connections).toBe(1);
  });

  it('a streamed 1 MiB POST arrives byte-exact', async () => {
    const { modem } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const dispatcher = modem.dispatcher();
    defer(() => dispatcher.close());
    const data = randomBytes(1024 * 1024);
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= data.length) return controller.close();
        const n = 1 + ((offset * 7919) % 40_000); // uneven chunks
        controller.enqueue(data.subarray(offset, offset + n));
        offset += n;
      },
    });
    const res = await undiciFetch(`${server.url}/upload`, { method: 'POST', body: stream, duplex: 'half', dispatcher });
    expect(await res.json()).toEqual({ sha256: sha256(data), length: data.length });
  });

  it('follows redirects over the same link', async () => {
    const { modem } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const dispatcher = modem.dispatcher();
    defer(() => dispatcher.close());
    const res = await undiciFetch(`${server.url}/redirect/3`, { dispatcher });
    expect(res.redirected).toBe(true);
    expect(res.url).toBe(`${server.url}/hello`);
    expect(await res.text()).toBe('hello');
    expect(server.requests).toBe(4);
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('an aborted request rejects with AbortError and frees its module link', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const dispatcher = modem.dispatcher();
    defer(() => dispatcher.close());
    const ac = new AbortController();
    const res = await undiciFetch(`${server.url}/slow`, { dispatcher, signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(mock.linkState(0)).toBe('CONNECTED');
    ac.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => mock.linkState(0) !== 'CONNECTED', 10_000, 'link 0 closed on the module');
    // The pool opens a new link for the next request.
    expect(await (await undiciFetch(`${server.url}/hello`, { dispatcher })).text()).toBe('hello');
  });

  it('https verified on the host with the test CA; an unrelated CA is refused', async () => {
    const pki = makeTestPki();
    const { modem } = await openModem();
    const server = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const good = modem.dispatcher({ ca: pki.caCert });
    defer(() => good.close());
    expect(await (await undiciFetch(`${server.url}/hello`, { dispatcher: good })).text()).toBe('hello');
    const bad = modem.dispatcher({ ca: pki.otherCaCert });
    defer(() => bad.close());
    const err = await undiciFetch(`${server.url}/hello`, { dispatcher: bad }).catch(
      (e: Error & { cause?: { code?: string } }) => e,
    );
    expect((err as { cause?: { code?: string } }).cause?.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
  });

  it('a link lost mid-body fails the fetch with our code in the cause chain, never hangs', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const dispatcher = modem.dispatcher();
    defer(() => dispatcher.close());
    const res = await undiciFetch(`${server.url}/slow`, { dispatcher });
    const reader = res.body!.getReader();
    await reader.read();
    mock.reboot();
    const err = (await reader.read().catch((e: unknown) => e)) as Error & {
      code?: string;
      cause?: Error & { code?: string };
    };
    const chain: string[] = [];
    for (let e: (Error & { code?: string; cause?: unknown }) | undefined = err; e; e = e.cause as typeof e)
      chain.push(e.code ?? e.name);
    expect(chain).toContain('ECONNRESET');
    expect(chain).toContain('ERR_MODEM_RESET');
  });

  it('a missing optional peer is ERR_PEER_MISSING naming the package', () => {
    const err = (() => {
      try {
        loadPeer('undici-not-installed-anywhere', 'dispatcher()');
      } catch (e) {
        return e as PeerDependencyMissingError;
      }
    })();
    expect(err).toBeInstanceOf(PeerDependencyMissingError);
    expect(err?.code).toBe('ERR_PEER_MISSING');
    expect(err?.message).toContain('npm install undici-not-installed-anywhere');
  });
});
