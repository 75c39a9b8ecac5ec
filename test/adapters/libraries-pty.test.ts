import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { fetch as undiciFetch } from 'undici';
import mqtt, { MqttClient } from 'mqtt';
import { Server } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';
import { ensureBuilt } from '../cli/build.js';
import { makeTestPki } from '../helpers/certs.js';
import { defer, until } from '../integration/helpers.js';
import { startWsEcho } from '../ws/peers.js';
import { sha256, startHttpServer } from './http-server.js';
import { startMosquitto } from './mosquitto.js';
import { openPtyModem } from './pty-mock.js';

beforeAll(() => ensureBuilt(), 180_000);

// Each library once over the mock in its own process behind a pty at 115200 baud / 2 ms latency
// (~11 KB/s: payloads are kept to tens of KiB; the MiB-sized cases run in-process).
describe('the libraries over the pty mock (115200 baud, 2 ms latency)', () => {
  it('fetch through dispatcher(): https GET and a streamed POST, byte-exact', async () => {
    const pki = makeTestPki();
    const { modem } = await openPtyModem();
    const server = await startHttpServer({ cert: pki.serverCert, key: pki.serverKey });
    defer(() => server.close());
    const dispatcher = modem.dispatcher({ ca: pki.caCert });
    defer(() => dispatcher.close());
    const res = await undiciFetch(`${server.url}/blob?bytes=32768`, { dispatcher });
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(sha256(server.blob.subarray(0, 32768)));
    const up = randomBytes(32 * 1024);
    const chunks = [up.subarray(0, 1000), up.subarray(1000, 20_000), up.subarray(20_000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const posted = await undiciFetch(`${server.url}/upload`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      dispatcher,
    });
    expect(await posted.json()).toEqual({ sha256: sha256(up), length: up.length });
  }, 120_000);

  it('mqtt.js: QoS 0/1/2, then 200 QoS 1 messages across a module reboot, none lost', async () => {
    const pki = makeTestPki();
    const broker = await startMosquitto({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
    defer(() => broker.stop());
    const { modem, fault } = await openPtyModem();
    const onHost = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    defer(() => onHost.endAsync(true));
    await onHost.subscribeAsync('pty/#', { qos: 2 });
    const client = new MqttClient(modem.mqttStream({ host: '127.0.0.1', port: broker.port }), {
      protocolVersion: 4,
      clientId: 'pty-module',
      reconnectPeriod: 300,
      connectTimeout: 20_000,
    });
    client.on('error', () => {});
    defer(() => client.endAsync(true));
    const got = new Map<string, string>();
    const seq = new Map<number, number>();
    let rebooted = false;
    onHost.on('message', (topic, p) => {
      if (topic !== 'pty/seq') return void got.set(topic, sha256(p));
      const n = Number(p.toString());
      seq.set(n, (seq.get(n) ?? 0) + 1);
      if (!rebooted && seq.size >= 50) {
        rebooted = true;
        fault('reboot');
      }
    });
    const sent = new Map<string, string>();
    for (const qos of [0, 1, 2] as const) {
      const p = randomBytes(2000);
      sent.set(`pty/q${qos}`, sha256(p));
      await client.publishAsync(`pty/q${qos}`, p, { qos });
    }
    await until(() => got.size === 3, 20_000, 'QoS 0/1/2 messages');
    expect(got).toEqual(sent);
    const acks: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      acks.push(client.publishAsync('pty/seq', String(i), { qos: 1 }));
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(acks);
    await until(() => seq.size === 200, 60_000, 'all 200 sequence numbers');
    expect(rebooted).toBe(true);
    expect([...seq.keys()].sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
  }, 150_000);

  it('ws over createConnection and socket.io over httpAgent', async () => {
    const { modem } = await openPtyModem('pull');
    const echo = await startWsEcho();
    defer(() => echo.close());
    const ws = new WebSocket(`ws://127.0.0.1:${echo.port}/`, {
      createConnection: ((o: { host: string; port: number }) =>
        modem.createConnection({ host: o.host, port: o.port })) as never,
    });
    defer(() => ws.terminate());
    const msg = randomBytes(16 * 1024);
    const back = await new Promise<Buffer>((resolve, reject) => {
      ws.once('open', () => ws.send(msg));
      ws.once('message', (d: Buffer) => resolve(d));
      ws.once('error', reject);
    });
    expect(sha256(back)).toBe(sha256(msg));

    const server = http.createServer();
    const sio = new Server(server, { transports: ['websocket'] });
    sio.on('connection', (s) => s.on('ping-me', (v: unknown, ack: (a: unknown) => void) => ack({ pong: v })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => new Promise<void>((r) => sio.close(() => r())));
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    const client = ioClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      transports: ['websocket'],
      agent: agent as unknown as string,
    });
    defer(() => client.close());
    await new Promise<void>((r) => client.once('connect', () => r()));
    expect(await client.timeout(20_000).emitWithAck('ping-me', 'over the pty')).toEqual({ pong: 'over the pty' });
  }, 120_000);
});
