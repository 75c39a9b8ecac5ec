import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { describe, expect, it } from 'vitest';
import { LinkWaitTimeoutError, type ModemSocket } from '../../src/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer, openModem, until } from '../integration/helpers.js';
import { request, sha256, startHttpServer } from './http-server.js';

const cipstarts = (cmds: string[]) => cmds.filter((c) => /^AT\+CIPSTART=/.test(c)).length;

describe('modem.httpAgent', () => {
  it('GET and POST 1 MiB byte-exact (SHA-256 at both ends), in push and pull mode', async () => {
    for (const rxMode of ['push', 'pull'] as const) {
      const { modem, mock } = await openModem({ rxMode });
      const server = await startHttpServer();
      defer(() => server.close());
      const agent = modem.httpAgent();
      defer(() => agent.destroy());
      expect((await request(http, `${server.url}/hello`, { agent })).body.toString()).toBe('hello');
      expect(cipstarts(mock.commands())).toBe(1);
      const got = await request(http, `${server.url}/blob`, { agent });
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(got.headers['x-sha256']);
      expect(sha256(got.body)).toBe(sha256(server.blob));
      const up = randomBytes(1024 * 1024);
      const posted = await request(
        http,
        `${server.url}/upload`,
        { agent, method: 'POST', headers: { 'content-length': up.length } },
        up,
      );
      expect(JSON.parse(posted.body.toString())).toEqual({ sha256: sha256(up), length: up.length });
      expect(server.uploads).toEqual([sha256(up)]);
      agent.destroy();
    }
  });

  it('keep-alive: 10 requests reuse one module link', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    const reused: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await request(http, `${server.url}/hello`, { agent });
      expect(r.body.toString()).toBe('hello');
      reused.push(r.reused);
    }
    expect(server.connections).toBe(1);
    expect(cipstarts(mock.commands())).toBe(1);
    expect(reused).toEqual([false, ...new Array(9).fill(true)]);
  });

  it('all 6 links taken: a request waits for one, then fails with ERR_LINK_WAIT_TIMEOUT; a link freed in time serves it', async () => {
    const { modem } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const held: ModemSocket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = modem.connect('127.0.0.1', server.port);
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    defer(() => {
      for (const s of held) s.destroy();
    });
    const agent = modem.httpAgent({ linkWaitMs: 400 });
    defer(() => agent.destroy());
    const err = await request(http, `${server.url}/hello`, { agent }).then(
      () => undefined,
      (e: Error & { code?: string; cause?: { code?: string } }) => e,
    );
    expect(err).toBeInstanceOf(LinkWaitTimeoutError);
    expect(err?.code).toBe('ERR_LINK_WAIT_TIMEOUT');
    expect(err?.cause?.code).toBe('ERR_NO_FREE_LINK');
    const patient = modem.httpAgent({ linkWaitMs: 20_000 });
    defer(() => patient.destroy());
    const pending = request(http, `${server.url}/hello`, { agent: patient });
    setTimeout(() => held.pop()!.destroy(), 300);
    expect((await pending).body.toString()).toBe('hello');
  });

  it('beyond maxQueued waiters a request fails at once with ERR_LINK_QUEUE_FULL', async () => {
    const { modem } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const held: ModemSocket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = modem.connect('127.0.0.1', server.port);
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    defer(() => {
      for (const s of held) s.destroy();
    });
    const agent = modem.httpAgent({ linkWaitMs: 20_000, maxQueued: 1 });
    defer(() => agent.destroy());
    const first = request(http, `${server.url}/hello`, { agent });
    await new Promise((r) => setTimeout(r, 100)); // the first is waiting now
    const second = await request(http, `${server.url}/hello?2`, { agent }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(second?.code).toBe('ERR_LINK_QUEUE_FULL');
    held.pop()!.destroy();
    expect((await first).body.toString()).toBe('hello');
  });

  it('an idle pooled link is closed on the module after the agent timeout', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const agent = modem.httpAgent({ timeout: 300 });
    defer(() => agent.destroy());
    expect((await request(http, `${server.url}/hello`, { agent })).body.toString()).toBe('hello');
    expect(mock.linkState(0)).toBe('CONNECTED');
    await until(() => mock.linkState(0) !== 'CONNECTED', 10_000, 'the idle link to close');
    expect(mock.commands()).toContain('AT+CIPCLOSE=0');
  });

  it('caps maxSockets at the 6 links', () => {
    return openModem().then(({ modem }) => {
      const agent = modem.httpAgent({ maxSockets: 50 });
      expect(agent.maxSockets).toBe(6);
      expect(agent.maxTotalSockets).toBe(6);
      agent.destroy();
    });
  });

  it('a link lost mid-response (module reboot) fails the request with ECONNRESET, never hangs', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    const err = await new Promise<Error & { code?: string; cause?: { code?: string } }>((resolve, reject) => {
      const req = http.get(`${server.url}/slow`, { agent }, (res) => {
        res.once('data', () => mock.reboot());
        res.on('error', resolve);
        res.on('end', () => reject(new Error('the response ended although the link died')));
      });
      req.on('error', resolve);
    });
    expect(err.code).toBe('ECONNRESET');
    expect(err.cause?.code).toBe('ERR_MODEM_RESET');
  });

  it('a recovering module fails a new request at once with ERR_MODEM_NOT_READY', async () => {
    const { modem, mock } = await openModem();
    const server = await startHttpServer();
    defer(() => server.close());
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    mock.unplug({ replugAfterMs: 3000 });
    await until(() => modem.state !== 'online', 5000, 'recovery to start');
    const err = await request(http, `${server.url}/hello`, { agent }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('ERR_MODEM_NOT_READY');
  });
});

describe('modem.httpsAgent', () => {
  it('GET and POST 1 MiB over host TLS verified with the test CA', async () => {
    const pki = makeTestPki();
    const { modem } = await openModem();
    const server = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const agent = modem.httpsAgent({ ca: pki.caCert });
    defer(() => agent.destroy());
    const got = await request(https, `${server.url}/blob`, { agent });
    expect(sha256(got.body)).toBe(sha256(server.blob));
    const up = randomBytes(1024 * 1024);
    const posted = await request(https, `${server.url}/upload`, { agent, method: 'POST' }, up);
    expect(JSON.parse(posted.body.toString())).toEqual({ sha256: sha256(up), length: up.length });
    expect(posted.reused).toBe(true);
    expect(server.connections).toBe(1);
  });

  it("tlsMode 'modem': the module's TLS with the CA uploaded to it", async () => {
    const pki = makeTestPki();
    const { modem, mock } = await openModem();
    const server = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const agent = modem.httpsAgent({ ca: pki.caCert, tlsMode: 'modem' });
    defer(() => agent.destroy());
    const got = await request(https, `${server.url}/blob?bytes=100000`, { agent });
    expect(sha256(got.body)).toBe(sha256(server.blob.subarray(0, 100_000)));
    expect(mock.commands().some((c) => /^AT\+CIPSSL=1$/.test(c))).toBe(true);
  });

  it('refuses a server signed by an unrelated CA', async () => {
    const pki = makeTestPki();
    const { modem } = await openModem();
    const server = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const agent = modem.httpsAgent({ ca: pki.otherCaCert });
    defer(() => agent.destroy());
    const err = await request(https, `${server.url}/hello`, { agent }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
    expect(server.requests).toBe(0);
  });
});
