/**
 * ws-client: the `ws` package's WebSocket client through the module. Its `createConnection`
 * option takes `modem.createConnection`, which returns the module socket at once (and, for wss,
 * Node's TLS over it, verified on the host).
 *
 *   npx tsc -p examples && AIR780_PORT=/dev/ttyACM2 node dist/examples/ws-client.js wss://echo.websocket.org
 *   node dist/examples/ws-client.js --mock ws://127.0.0.1:8080                # mock module, local echo server
 */
import WebSocket from 'ws';
import { exampleCa, openExampleModem, target } from './modem.js';

const url = target('wss://echo.websocket.org');
const { modem, close } = await openExampleModem();
const ca = exampleCa();
const ws = new WebSocket(url, {
  handshakeTimeout: 60_000,
  createConnection: ((o: { host: string; port: number; servername?: string }) =>
    modem.createConnection({
      host: o.host,
      port: o.port,
      ...(url.startsWith('wss:') ? { tls: true, servername: o.servername, ...(ca ? { ca } : {}) } : {}),
    })) as never,
});
const echoed = new Promise<string>((resolve, reject) => {
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    if (text.startsWith('hello')) resolve(text);
  });
  ws.once('error', reject);
});
ws.once('open', () => ws.send('hello from ws over the module'));
console.log(`echo: ${await echoed}`);
ws.close(1000);
await new Promise((r) => ws.once('close', r));
await close();
