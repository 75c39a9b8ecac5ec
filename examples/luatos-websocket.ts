/**
 * luatos-websocket: the LuatOS `websocket` API as a LuatOS script would use it (create, on,
 * autoreconn, connect, send, close), over the module — this package's own websocket client.
 *
 *   npx tsc -p examples && AIR780_PORT=/dev/ttyACM2 node dist/examples/luatos-websocket.js wss://echo.websocket.org
 *   node dist/examples/luatos-websocket.js --mock ws://127.0.0.1:8080         # mock module, local echo server
 */
import { websocket } from 'air780-bridge';
import { exampleCa, openExampleModem, target } from './modem.js';

const url = target('wss://echo.websocket.org');
const { modem, close } = await openExampleModem();
const ca = exampleCa();
const wsc = websocket.create(modem, url, 60, false, ca ? { ca } : {});
if (!wsc) throw new Error(`not a websocket URL: ${url}`);
wsc.autoreconn(true, 3000);
const done = new Promise<void>((resolve, reject) => {
  wsc.on((client, event, data) => {
    if (event === 'conack') client.send('hello from LuatOS style', 1, 0);
    if (event === 'recv' && typeof data === 'string' && data.startsWith('hello')) {
      console.log(`recv: ${data}`);
      resolve();
    }
    if (event === 'error') reject(new Error(`websocket ${String(data)}`));
  });
});
wsc.connect();
await done;
wsc.close();
await close();
