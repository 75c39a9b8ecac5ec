/**
 * fetch-json: `fetch()` a JSON document through the module with undici (an optional peer
 * dependency: `npm install undici`). `modem.dispatcher()` is an undici Agent whose connections
 * are module links; https is verified on the host (system store, or `EXAMPLE_CA`).
 *
 *   npx tsc -p examples && AIR780_PORT=/dev/ttyACM2 node dist/examples/fetch-json.js https://httpbin.org/json
 *   node dist/examples/fetch-json.js --mock http://127.0.0.1:8080/json       # mock module, local server
 */
import { fetch } from 'undici';
import { exampleCa, openExampleModem, target } from './modem.js';

const url = target('https://httpbin.org/json');
const { modem, close } = await openExampleModem();
const ca = exampleCa();
const dispatcher = modem.dispatcher(ca ? { ca } : {});

const res = await fetch(url, { dispatcher, signal: AbortSignal.timeout(60_000) });
const data: unknown = await res.json();
console.log(`GET ${url} → ${res.status} ${JSON.stringify(data).slice(0, 200)}`);
await dispatcher.close();
await close();
