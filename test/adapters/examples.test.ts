import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { Server } from 'socket.io';
import { ensureBuilt, ROOT } from '../cli/build.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer } from '../integration/helpers.js';
import { startWsEcho } from '../ws/peers.js';
import { startHttpServer } from './http-server.js';
import { startMosquitto } from './mosquitto.js';

const run = promisify(execFile);
const OUT = join(ROOT, 'dist/examples');

// The examples import 'air780-bridge' (the package by its own name → dist/), so the package is
// built first, then the examples are type-checked and compiled with their own tsconfig.
beforeAll(async () => {
  await ensureBuilt();
  await run('npx', ['tsc', '-p', 'examples'], { cwd: ROOT });
}, 240_000);

let caFile: string | undefined;
function testCa(): string {
  if (!caFile) {
    caFile = join(mkdtempSync(join(tmpdir(), 'air780-examples-')), 'ca.crt');
    writeFileSync(caFile, makeTestPki().caCert);
  }
  return caFile;
}

/** Runs a compiled example against the mock module; resolves with its stdout. */
async function example(name: string, url: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(OUT, `${name}.js`), '--mock', url], {
    cwd: ROOT,
    env: { ...process.env, EXAMPLE_CA: testCa() },
    timeout: 60_000,
  });
  return stdout;
}

describe('examples/ run against the mock module and local servers', () => {
  it('https-post', async () => {
    const pki = makeTestPki();
    const server = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const out = await example('https-post', `https://localhost:${server.port}/upload`);
    expect(out).toMatch(/→ 200 \{"sha256":"[0-9a-f]{64}","length":\d+\}/);
    expect(server.uploads).toHaveLength(1);
  });

  it('fetch-json', async () => {
    const server = await startHttpServer();
    defer(() => server.close());
    expect(await example('fetch-json', `http://127.0.0.1:${server.port}/json`)).toContain(
      '→ 200 {"ok":true,"via":"module"}',
    );
  });

  it('mqtt-telemetry', async () => {
    const pki = makeTestPki();
    const broker = await startMosquitto({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
    defer(() => broker.stop());
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
    defer(() => sub.endAsync(true));
    await sub.subscribeAsync('air780/example/telemetry', { qos: 1 });
    const seqs: number[] = [];
    sub.on('message', (_t, p) => seqs.push((JSON.parse(p.toString()) as { seq: number }).seq));
    const out = await example('mqtt-telemetry', `mqtts://localhost:${broker.tlsPort}`);
    expect(out).toContain('#4 (QoS 1');
    await new Promise((r) => setTimeout(r, 200));
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });

  it('socketio-chat', async () => {
    const server = http.createServer();
    const io = new Server(server, { transports: ['websocket'] });
    io.on('connection', (s) =>
      s.on('chat', (msg: { text: string }, ack: (a: unknown) => void) => ack({ echoed: msg.text })),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => new Promise<void>((r) => io.close(() => r())));
    const out = await example('socketio-chat', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expect(out).toContain('chat acknowledged: {"echoed":"hello from the cellular side"}');
  });

  it('ws-client and luatos-websocket', async () => {
    const pki = makeTestPki();
    const server = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    expect(await example('ws-client', `wss://localhost:${server.port}`)).toContain(
      'echo: hello from ws over the module',
    );
    expect(await example('luatos-websocket', `wss://localhost:${server.port}`)).toContain(
      'recv: hello from LuatOS style',
    );
  });
});
