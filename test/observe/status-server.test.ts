import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import {
  observeModem,
  parseStatusAddress,
  startModemStatus,
  startStatusServer,
  type StatusDocument,
  type StatusServer,
} from '../../src/observe/index.js';
import { openModem } from '../integration/helpers.js';
import { useEchoServer, waitFor } from '../modem/helpers.js';
import { parseMetrics, seriesValue } from './prom-parse.js';

const ICCID = '89860117831003134201';
const IMSI = '460011234567890';
const IMEI = '359759002514931';
const PASSWORD = 'apn-Secret-9x';
const AUTH_SECRET = 'st4tus-Pa55word';
const SECRETS = [ICCID, IMSI, PASSWORD, AUTH_SECRET, Buffer.from(`ops:${AUTH_SECRET}`).toString('base64')];

const bed = useEchoServer();
const { cleanup } = bed;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Every response body and header the tests saw, to grep for secrets at the end of each test. */
const seen: string[] = [];

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        seen.push(JSON.stringify(res.headers), body);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Server-sent events of one /events connection, up to the first `until` accepts (or the `n`th). */
function events(
  port: number,
  n: number,
  headers: Record<string, string> = {},
  until?: (d: StatusDocument) => boolean,
): Promise<StatusDocument[]> {
  return new Promise((resolve, reject) => {
    const docs: StatusDocument[] = [];
    const req = request({ host: '127.0.0.1', port, path: '/events', headers }, (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        seen.push(c);
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (data) docs.push(JSON.parse(data.slice(6)) as StatusDocument);
          if (until ? until(docs[docs.length - 1]!) : docs.length === n) {
            req.destroy();
            resolve(docs);
          }
        }
      });
    });
    req.on('error', (e) => (docs.length >= n ? undefined : reject(e)));
    req.end();
  });
}

async function bedWithServer(auth?: string): Promise<{ mock: MockModem; modem: Modem; status: StatusServer }> {
  const { mock, modem } = await openModem({
    mock: { iccid: ICCID, imsi: IMSI, imei: IMEI, quirks: ['echo-after-reboot'] },
    modem: { password: PASSWORD },
  });
  const obs = observeModem(modem, { signalIntervalMs: 200 });
  cleanup.push(async () => obs.close());
  const status = await startStatusServer({ modules: [obs], port: 0, ...(auth ? { auth } : {}) });
  cleanup.push(() => status.close());
  await waitFor(
    () => obs.stats().identity.imei !== undefined && obs.stats().network.signal !== undefined,
    10_000,
    'identity and signal',
  );
  return { mock, modem, status };
}

function expectNoSecrets(): void {
  const all = seen.join('\n');
  for (const s of SECRETS) expect(all).not.toContain(s);
  seen.length = 0;
}

describe('status server', () => {
  it('refuses a non-loopback bind without credentials, and a malformed address', async () => {
    const obs = [] as never[];
    await expect(startStatusServer({ modules: obs, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'ERR_STATUS_AUTH_REQUIRED',
    });
    await expect(startStatusServer({ modules: obs, host: '192.168.1.10', port: 0 })).rejects.toMatchObject({
      code: 'ERR_STATUS_AUTH_REQUIRED',
    });
    await expect(
      startStatusServer({ modules: obs, host: '0.0.0.0', port: 0, auth: 'nopassword' }),
    ).rejects.toMatchObject({ code: 'ERR_STATUS_BAD_OPTION' });
    expect(parseStatusAddress('127.0.0.1:9780')).toEqual({ host: '127.0.0.1', port: 9780 });
    expect(parseStatusAddress('[::1]:9781')).toEqual({ host: '::1', port: 9781 });
    expect(parseStatusAddress('9782')).toEqual({ host: '127.0.0.1', port: 9782 });
    expect(() => parseStatusAddress('host:port')).toThrow(/HOST:PORT/);
    const s = await startStatusServer({ modules: obs, host: '0.0.0.0', port: 0, auth: `ops:${AUTH_SECRET}` });
    await s.close();
  });

  it('serves the page, /status.json, /metrics and live /events on loopback', async () => {
    const { mock, status } = await bedWithServer();
    const page = await get(status.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="app.js">');
    for (const asset of ['/app.js', '/style.css']) expect((await get(status.port, asset)).status).toBe(200);

    const json = await get(status.port, '/status.json');
    expect(json.status).toBe(200);
    const doc = JSON.parse(json.body) as StatusDocument;
    expect(doc.modules[0]).toMatchObject({
      state: { current: 'online' },
      identity: { imei: IMEI, iccid: '8986…4201', imsi: '4600…7890' },
      network: { signal: { rssi: 19, dbm: -75 } },
    });

    const metrics = await get(status.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const f = parseMetrics(metrics.body);
    expect(seriesValue(f, 'air780_state', { state: 'online', imei: IMEI })).toBe(1);
    expect(seriesValue(f, 'air780_signal_rssi_dbm', { imei: IMEI })).toBe(-75);
    expect(f.has('process_cpu_user_seconds_total')).toBe(true); // process default metrics

    // Live: the first event is the current state; a change shows up without asking again.
    const live = events(status.port, 0, {}, (d) => d.modules[0]!.network.signal?.rssi === 27);
    await new Promise((r) => setTimeout(r, 100));
    mock.setSignal(27);
    const docs = await live;
    expect(docs[0]!.modules[0]!.identity.imei).toBe(IMEI);
    expect(docs[0]!.modules[0]!.network.signal?.rssi).toBe(19);
    expect(docs.length).toBeGreaterThanOrEqual(2);

    expect((await get(status.port, '/nope')).status).toBe(404);
    expect((await get(status.port, '/status.json', {}, 'POST')).status).toBe(405);
    // A page elsewhere reaching this server through a rebinding name is refused.
    expect((await get(status.port, '/status.json', { Host: 'evil.example:9780' })).status).toBe(403);
    expectNoSecrets();
  });

  it('with credentials asks for them on every path', async () => {
    const { status } = await bedWithServer(`ops:${AUTH_SECRET}`);
    const good = { Authorization: `Basic ${Buffer.from(`ops:${AUTH_SECRET}`).toString('base64')}` };
    const bad = { Authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` };
    for (const path of ['/', '/status.json', '/metrics', '/events', '/app.js']) {
      const r = await get(status.port, path);
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Basic realm=/);
      expect((await get(status.port, path, bad)).status).toBe(401);
    }
    expect((await get(status.port, '/status.json', good)).status).toBe(200);
    expect((await get(status.port, '/metrics', good)).status).toBe(200);
    expect((await events(status.port, 1, good))[0]!.modules[0]!.identity.imei).toBe(IMEI);
    // The request's own Authorization header is in `seen` only as sent, never echoed back.
    seen.length = 0;
    await get(status.port, '/status.json', good);
    expectNoSecrets();
  });

  it('startModemStatus (for serve --status): observers for the modems, the address rule, both closed together', async () => {
    const mock = new MockModem({ iccid: ICCID, imsi: IMSI, imei: IMEI });
    cleanup.push(() => mock.close());
    const modem = await Modem.open({ stream: mock.hostStream(), syncIntervalMs: 300, pollIntervalMs: 50 });
    cleanup.push(() => modem.close());
    const base = modem.listenerCount('state');
    await expect(startModemStatus([modem], { address: '0.0.0.0:0' })).rejects.toMatchObject({
      code: 'ERR_STATUS_AUTH_REQUIRED',
    });
    expect(modem.listenerCount('state')).toBe(base);
    const status = await startModemStatus([modem], { address: '127.0.0.1:0', signalIntervalMs: 0 });
    expect(modem.listenerCount('state')).toBe(base + 1);
    await waitFor(() => status.observers[0]!.stats().identity.imei === IMEI, 10_000, 'identity');
    const doc = JSON.parse((await get(status.port, '/status.json')).body) as StatusDocument;
    expect(doc.modules.map((m) => m.identity.imei)).toEqual([IMEI]);
    await status.close();
    expect(modem.listenerCount('state')).toBe(base);
    expectNoSecrets();
  });
});
