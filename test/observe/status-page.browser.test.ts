// The status page in a real browser: the system Chromium (Debian package `chromium`) driven by
// puppeteer-core, which downloads nothing. Once served by the library in this process, once by a
// spawned `air780 serve --mock` as a user runs it. Screenshots go to $AIR780_SCREENSHOT_DIR
// (default: a temporary folder) for a person to look at.
import { existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import puppeteer, { type Browser } from 'puppeteer-core';
import { observeModem, startStatusServer } from '../../src/observe/index.js';
import { openModem } from '../integration/helpers.js';
import { useEchoServer, waitFor } from '../modem/helpers.js';
import { useBuiltCli } from '../cli/spawn.js';
import { curl } from '../serve/helpers.js';
import { spawnServe } from '../serve/spawn-serve.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IMEI = '359759002514931';
const ICCID = '89860117831003134201';
const PASSWORD = 'apn-Secret-9x';
const bed = useEchoServer();
const { cleanup } = bed;
useBuiltCli();
const shotDir = (): string => {
  const dir = process.env.AIR780_SCREENSHOT_DIR ?? join(tmpdir(), 'air780-status-shots');
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** An HTTP server that answers slowly (`chunks` pieces of 1 KiB, one every `everyMs`), so a link stays open. */
async function startSlowServer(chunks: number, everyMs: number): Promise<Server & { port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': chunks * 1024 });
    let sent = 0;
    const t = setInterval(() => {
      res.write(Buffer.alloc(1024, 0x62));
      sent += 1;
      if (sent === chunks) {
        clearInterval(t);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  cleanup.push(() => browser.close());
  return browser;
}

describe('status page in Chromium', () => {
  it('shows IMEI and state, a link row while a connection is open, a reboot as an event and online again, without reloading', async () => {
    const { mock, modem } = await openModem({
      mock: { imei: IMEI, iccid: ICCID, quirks: ['echo-after-reboot'] },
      modem: { password: PASSWORD },
    });
    const obs = observeModem(modem, { signalIntervalMs: 300 });
    cleanup.push(async () => obs.close());
    const status = await startStatusServer({ modules: [obs], port: 0 });
    cleanup.push(() => status.close());

    const browser = await launch();
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => (m.type() === 'error' ? pageErrors.push(m.text()) : undefined));
    await page.goto(status.url, { waitUntil: 'load' });
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const text = (sel: string) => page.$eval(sel, (e) => e.textContent ?? '');
    await page.waitForFunction(
      (imei: string) => document.querySelector('.imei')?.textContent === imei,
      { timeout: 15_000 },
      IMEI,
    );
    await page.waitForFunction(() => document.querySelector('.state')?.textContent === 'online', { timeout: 15_000 });
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', { timeout: 15_000 });
    expect(await text('.identity')).toContain('8986…4201');

    // A link row appears while a connection is open.
    const socket = modem.connect('127.0.0.1', bed.echo.port);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined); // the reboot below ends it with ERR_MODEM_RESET
    await once(socket, 'connect');
    socket.write(Buffer.alloc(20_000, 0x61));
    const dest = `127.0.0.1:${bed.echo.port}`;
    await page.waitForFunction(
      (d: string) => [...document.querySelectorAll('.links tr.open td.dest')].some((td) => td.textContent === d),
      { timeout: 15_000 },
      dest,
    );
    await waitFor(() => socket.bytesRead === 20_000, 15_000, 'echo');
    await page.waitForFunction(() => /19\.5 KiB/.test(document.querySelector('.links tr.open')?.textContent ?? ''), {
      timeout: 15_000,
    });
    const shots = shotDir();
    await page.screenshot({ path: join(shots, 'status-link-open.png'), fullPage: true });

    // A reboot: shown as an event, the state goes back to online, the page never reloads.
    mock.reboot({ delayMs: 50 });
    await page.waitForFunction(() => !!document.querySelector('.event-list li[data-kind="reboot"]'), {
      timeout: 20_000,
    });
    await page.waitForFunction(() => !!document.querySelector('.event-list li[data-kind="recovered"]'), {
      timeout: 20_000,
    });
    await page.waitForFunction(() => document.querySelector('.state')?.textContent === 'online', { timeout: 20_000 });
    expect(await text('.recov')).toContain('reboot 1');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    // The link the reboot broke is no longer open.
    await page.waitForFunction(() => document.querySelectorAll('.links tr.open').length === 0, { timeout: 15_000 });
    await page.screenshot({ path: join(shots, 'status-after-reboot.png'), fullPage: true });

    // Phone width: nothing wider than the screen.
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2 });
    await new Promise((r) => setTimeout(r, 300));
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, 'status-phone.png'), fullPage: true });

    const html = await page.content();
    for (const secret of [ICCID, PASSWORD]) expect(html).not.toContain(secret);
    expect(pageErrors).toEqual([]);
  });

  it('served by a spawned `air780 serve --mock`: IMEI and online, a link row while curl runs through the SOCKS5 proxy, a stdin reboot as an event and online again, without reloading', async () => {
    const slow = await startSlowServer(24, 250);
    const serve = await spawnServe(['--mock', '--apn', 'internet.example', '--user', 'me'], {
      AIR780_APN_PASSWORD: PASSWORD,
    });
    const url = `http://127.0.0.1:${serve.statusPort}/`;
    const browser = await launch();
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => {
      pageErrors.push(String(e));
    });
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 7;
    });
    await page.waitForFunction(
      (imei: string) => document.querySelector('.imei')?.textContent === imei,
      { timeout: 15_000 },
      IMEI,
    );
    await page.waitForFunction(() => document.querySelector('.state')?.textContent === 'online', { timeout: 15_000 });
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', { timeout: 15_000 });
    expect(await page.$eval('.identity', (e) => e.textContent ?? '')).toContain('8986…4201');

    // A real curl through serve's SOCKS5 proxy, slow enough that its link is on the page for seconds.
    const dest = `127.0.0.1:${slow.port}`;
    const download = curl(['--socks5-hostname', `127.0.0.1:${serve.socksPort}`, '-o', '/dev/null', `http://${dest}/`], {
      timeoutMs: 30_000,
    });
    await page.waitForFunction(
      (d: string) => [...document.querySelectorAll('.links tr.open td.dest')].some((td) => td.textContent === d),
      { timeout: 15_000 },
      dest,
    );
    await page.screenshot({ path: join(shotDir(), 'serve-link-open.png'), fullPage: true });
    const done = await download;
    expect(done.code).toBe(0);
    await page.waitForFunction(() => document.querySelectorAll('.links tr.open').length === 0, { timeout: 15_000 });

    // A reboot injected through serve's stdin, as a person at the terminal would.
    serve.write('reboot');
    await serve.waitFor(/fault reboot on mock0/);
    await page.waitForFunction(() => !!document.querySelector('.event-list li[data-kind="reboot"]'), {
      timeout: 20_000,
    });
    await page.waitForFunction(() => !!document.querySelector('.event-list li[data-kind="recovered"]'), {
      timeout: 30_000,
    });
    await page.waitForFunction(() => document.querySelector('.state')?.textContent === 'online', { timeout: 30_000 });
    expect(await page.$eval('.recov', (e) => e.textContent ?? '')).toContain('reboot 1');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    await page.screenshot({ path: join(shotDir(), 'serve-after-reboot.png'), fullPage: true });

    const html = await page.content();
    for (const secret of [ICCID, PASSWORD]) expect(html).not.toContain(secret);
    expect(pageErrors).toEqual([]);
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);
  }, 120_000);
});
