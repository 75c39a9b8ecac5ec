import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe } from 'vitest';
import { WebSocketServer } from 'ws';
import { MockModem } from '../src/mock/index.js';
import { Modem } from '../src/modem/index.js';
import { makeTestPki } from '../test/helpers/certs.js';
import { startEchoServer, startTlsEchoServer, type TestServer } from '../test/helpers/servers.js';
import { contract, type ContractTarget } from './contract.js';

if (!process.env.AIR780_PORT) {
  console.warn('hw-tests: AIR780_PORT is not set — no module: the contract runs against the mock only.');
}

let tcp: TestServer;
let tlsSrv: TestServer;
let ca: string;
let wss: WebSocketServer;
let web: http.Server;
const body = randomBytes(200_000);
const mocks: MockModem[] = [];

beforeAll(async () => {
  const pki = makeTestPki();
  ca = pki.caCert;
  tcp = await startEchoServer();
  tlsSrv = await startTlsEchoServer(pki.serverCert, pki.serverKey);
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((r) => wss.once('listening', () => r()));
  web = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  await tcp.close();
  await tlsSrv.close();
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
  web.closeAllConnections();
  await new Promise<void>((r) => web.close(() => r()));
});

describe('contract: mock module', () => {
  contract(
    (): ContractTarget => ({
      name: 'mock',
      async open() {
        const mock = new MockModem({ quirks: ['echo-after-reboot'] });
        mocks.push(mock);
        return Modem.open({
          stream: mock.hostStream(),
          reopen: () => mock.hostStream(),
          syncIntervalMs: 300,
          pollIntervalMs: 50,
          recoveryBackoffMs: 100,
        });
      },
      tcpEcho: { host: '127.0.0.1', port: tcp.port },
      tlsEcho: { host: 'localhost', port: tlsSrv.port, ca },
      moduleTls: true,
      wsEcho: { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/echo2`, ca: undefined },
      // The mock answers AT+CDNSGIP from its resolver.
      dns: { name: 'localhost', expect: '127.0.0.1' },
      httpGet: {
        url: `http://127.0.0.1:${(web.address() as AddressInfo).port}/blob`,
        sha256: createHash('sha256').update(body).digest('hex'),
      },
      async teardown() {},
    }),
  );
});
