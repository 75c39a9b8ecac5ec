#!/usr/bin/env node
// The status page on the mock module, with some life in it: a link echoing data, a websocket
// client over the module, the signal fading and coming back, a bearer loss and a module reboot.
//
//   npm run build && node scripts/status-screenshot.mjs            # writes docs/status-page.png and docs/status-page-phone.png
//   node scripts/status-screenshot.mjs --serve [HOST:PORT]          # keeps serving the scene (default 127.0.0.1:9780)
//
// Screenshots use the system Chromium (CHROMIUM_PATH, default /usr/bin/chromium) through
// puppeteer-core: nothing is downloaded.
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import {
  MockModem,
  Modem,
  WebSocketClient,
  observeModem,
  observeWebSocket,
  parseStatusAddress,
  startStatusServer,
} from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serve = process.argv.includes('--serve');
const addrArg = process.argv[process.argv.indexOf('--serve') + 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Local peers the module's links reach (the mock connects to real sockets on the host).
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await once(wss, 'listening');
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
const { createServer } = await import('node:net');
const echo = createServer((s) => s.pipe(s));
echo.listen(0, '127.0.0.1');
await once(echo, 'listening');

const mock = new MockModem({ baudRate: 115200, quirks: ['echo-after-reboot'] });
const modem = await Modem.open({
  stream: mock.hostStream(),
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  recoveryBackoffMs: 200,
});
const obs = observeModem(modem, { signalIntervalMs: serve ? 5000 : 1000 });
const ws = new WebSocketClient(`ws://127.0.0.1:${wss.address().port}/telemetry`, {
  connect: (t) => modem.openStream(t.host, t.port, { signal: t.signal }),
  reconnect: { strategy: 'fixed', initialDelayMs: 1000 },
});
const wsObs = observeWebSocket(ws);
ws.on('error', () => {});
ws.connect();
const address =
  serve && addrArg && !addrArg.startsWith('-')
    ? parseStatusAddress(addrArg)
    : { host: '127.0.0.1', port: serve ? 9780 : 0 };
const status = await startStatusServer({ modules: [obs], websockets: () => ({ telemetry: wsObs }), ...address });
console.log(`status page: ${status.url}`);

/** A link that echoes a few KiB a second until `stop`. */
function busyLink() {
  const s = modem.connect('127.0.0.1', echo.address().port);
  s.on('error', () => {});
  s.on('data', () => {});
  const t = setInterval(() => s.writable && s.write(Buffer.alloc(2048 + Math.floor(Math.random() * 4096), 0x61)), 400);
  s.on('close', () => clearInterval(t));
  return s;
}

let link = busyLink();
// The page is open from the start, so its traffic chart (kept by the page) covers the scene.
const puppeteer = serve ? undefined : (await import('puppeteer-core')).default;
const browser = await puppeteer?.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser?.newPage();
await page?.setViewport({ width: 1280, height: 900 });
await page?.goto(status.url);
const ticker = setInterval(
  () => ws.state === 'open' && ws.send(JSON.stringify({ t: Date.now(), v: Math.random() })),
  700,
);
const rssis = [19, 21, 22, 20, 17, 14, 12, 11, 13, 16, 18, 20, 23, 21, 19];
const scene = async () => {
  for (let i = 0; i < rssis.length; i++) {
    mock.setSignal(rssis[i]);
    await sleep(1000);
    if (i === 6) mock.deactivatePdp();
    if (i === 10) mock.reboot({ delayMs: 300 });
    if ((i === 8 || i === 13) && link.destroyed) link = busyLink();
  }
};
await scene();

if (serve) {
  console.log('serving; Ctrl-C to stop');
  // Keep it moving: the signal wanders, a link keeps echoing.
  let i = 0;
  setInterval(() => {
    mock.setSignal(rssis[i++ % rssis.length]);
    if (link.destroyed) link = busyLink();
  }, 5000);
  await new Promise(() => {});
}

try {
  await page.waitForFunction(() => document.querySelector('.state')?.textContent === 'online');
  await sleep(6000); // a few seconds of traffic for the rate chart
  mkdirSync(join(root, 'docs'), { recursive: true });
  await page.screenshot({ path: join(root, 'docs/status-page.png'), fullPage: true });
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1 });
  await sleep(1500);
  await page.screenshot({ path: join(root, 'docs/status-page-phone.png'), fullPage: false });
  console.log('wrote docs/status-page.png, docs/status-page-phone.png');
} finally {
  await browser.close();
  clearInterval(ticker);
  ws.close();
  link.destroy();
  obs.close();
  await status.close();
  await modem.close();
  await mock.close();
  wss.close();
  echo.close();
}
