/**
 * What `air780 ws` prints about its URL and its errors: query values redacted on stderr, library
 * advice in flag terms (--ca, --insecure, --port), a warning for --insecure.
 */
import { describe, expect, it } from 'vitest';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startEchoServer } from '../../src/cli/echo-server.js';
import { cliWording } from '../../src/cli/io.js';
import { redactUrl, redactUrls } from '../../src/cli/format.js';
import { makeTestPki } from '../helpers/certs.js';
import { closedPort } from '../helpers/servers.js';
import { runCli } from './build.js';
import { useBuiltCli } from './spawn.js';

const cleanups = useBuiltCli();

describe('redactUrl', () => {
  it('keeps scheme, host, port, path and query names; hides values, bare query words and passwords', () => {
    expect(redactUrl('wss://example.com/ws/echo?token=SECRET')).toBe('wss://example.com/ws/echo?token=***');
    expect(redactUrl('ws://127.0.0.1:9001/runCase?case=1&agent=air780')).toBe(
      'ws://127.0.0.1:9001/runCase?case=***&agent=***',
    );
    expect(redactUrl('ws://h/p?SECRET')).toBe('ws://h/p?***');
    expect(redactUrl('ws://user:pw@h/p')).toBe('ws://user:***@h/p');
    expect(redactUrl('ws://h/p')).toBe('ws://h/p');
    expect(redactUrl('ws://h/p#frag?x=1')).toBe('ws://h/p');
    expect(redactUrl('not a url?token=SECRET')).toBe('not a url?***');
    expect(redactUrls("Cannot connect to 'wss://h:1/x?token=SECRET': refused")).toBe(
      "Cannot connect to 'wss://h:1/x?token=***': refused",
    );
  });
});

describe('cliWording', () => {
  it('names flags where the library names API options', () => {
    expect(cliWording('no Air780 module found (x); plug it in, set AIR780_PORT, or pass { path }')).toBe(
      'no Air780 module found (x); plug it in, set AIR780_PORT, or pass --port PATH',
    );
    expect(
      cliWording(
        'module TLS has no CA store: pass { ca } to verify the server, or { rejectUnauthorized: false } to connect without verification',
      ),
    ).toBe(
      'module TLS has no CA store: pass --ca FILE to verify the server, or --insecure to connect without verification',
    );
    expect(
      cliWording('certificate was not accepted (X). Pass the CA that signed it as the `ca` option, and check'),
    ).toBe('certificate was not accepted (X). Pass the CA that signed it with --ca FILE, and check');
    expect(cliWording('nothing to change here')).toBe('nothing to change here');
  });
});

async function wssServer(): Promise<{ port: number }> {
  const pki = makeTestPki();
  const server = https.createServer({ cert: pki.serverCert, key: pki.serverKey });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port };
}

describe('air780 ws status output', () => {
  it('the URL on stderr has its query values redacted; the path and query names stay', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => echo.close());
    const url = `${echo.url}/ws/echo2?token=SECRET123&device=abc`;
    const r = await runCli(['ws', '--mock', '--no-deflate', '--linger', '300', url], {
      input: 'hi\n',
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toContain(`connected to ${echo.url}/ws/echo2?token=***&device=***`);
    expect(r.stderr + r.stdout).not.toContain('SECRET123');
  });

  it('a failed connection: the error line does not show the token either', async () => {
    const port = await closedPort();
    const r = await runCli(['ws', '--mock', `ws://127.0.0.1:${port}/x?token=SECRET123`], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^air780: /m);
    expect(r.stderr).not.toContain('SECRET123');
  });
});

describe('air780 ws: TLS advice in flags, --insecure warned about', () => {
  it('host TLS to a server whose CA is unknown: the hint names --ca FILE', async () => {
    const { port } = await wssServer();
    const r = await runCli(['ws', '--mock', `wss://127.0.0.1:${port}/`], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('with --ca FILE');
    expect(r.stderr).not.toMatch(/`ca` option|rejectUnauthorized/);
  });

  it('module TLS without a CA: --ca FILE or --insecure, not the API options', async () => {
    const { port } = await wssServer();
    const r = await runCli(['ws', '--mock', '--tls', 'modem', `wss://127.0.0.1:${port}/`], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pass --ca FILE to verify the server, or --insecure to connect without verification');
    expect(r.stderr).not.toMatch(/\{ ca \}|rejectUnauthorized/);
  });

  it('--insecure: one warning line on stderr, and the connection works', async () => {
    const { port } = await wssServer();
    const r = await runCli(
      ['ws', '--mock', '--insecure', '--no-deflate', '--linger', '300', `wss://127.0.0.1:${port}/`],
      { input: 'x\n', timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('x\n');
    expect(r.stderr.match(/^warning: --insecure: /gm)).toHaveLength(1);
  });
});

describe('discovery failure in CLI terms', () => {
  it('no module found: the message says --port PATH, not { path }', async () => {
    const r = await runCli(['info'], { env: { AIR780_PORT: '' }, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^air780: no Air780 module found .*pass --port PATH$/m);
  });
});
