// `air780 serve --status`: the observe status server for the modules serve runs, in the spawned CLI.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/build.js';
import { useBuiltCli } from '../cli/spawn.js';
import { parseMetrics } from '../observe/prom-parse.js';
import { spawnServe } from './spawn-serve.js';

useBuiltCli();

const IMEI = '359759002514931';
const ICCID = '89860117831003134201';
const APN_PASSWORD = 'apn-Secret-9x';
const AUTH = 'dave:st4tus-S3cret:x';

/** One GET: status and body (for /events, the first chunk, then the connection is dropped). */
function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (path === '/events' && body.includes('\n\n')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.end();
  });
}

describe('air780 serve --status (spawned)', () => {
  it('serves /, /status.json, /events and /metrics for the module: IMEI label, online, process metrics, no secret', async () => {
    const serve = await spawnServe(['--mock', '--apn', 'internet.example', '--user', 'me'], {
      AIR780_APN_PASSWORD: APN_PASSWORD,
    });
    expect(serve.stderr).toMatch(/ status=127\.0\.0\.1:\d+ modules=1/);
    expect(serve.statusPort).toBeGreaterThan(0);

    const metrics = await get(serve.statusPort, '/metrics');
    expect(metrics.status).toBe(200);
    const families = parseMetrics(metrics.body);
    expect(families.get('air780_info')?.metrics[0]?.labels).toMatchObject({ imei: IMEI, model: 'Air780E' });
    const online = families.get('air780_state')?.metrics.find((m) => m.labels?.state === 'online');
    expect(online).toMatchObject({ labels: { imei: IMEI }, value: '1' });
    expect(families.has('process_cpu_seconds_total')).toBe(true);
    expect(families.has('nodejs_heap_size_used_bytes')).toBe(true);

    const status = await get(serve.statusPort, '/status.json');
    expect(status.status).toBe(200);
    const doc = JSON.parse(status.body) as {
      modules: Array<{ state: { current: string }; identity: { imei: string; iccid: string } }>;
    };
    expect(doc.modules).toHaveLength(1);
    expect(doc.modules[0]).toMatchObject({ state: { current: 'online' }, identity: { imei: IMEI } });
    expect(doc.modules[0]!.identity.iccid).toBe('8986…4201');

    const page = await get(serve.statusPort, '/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    const events = await get(serve.statusPort, '/events');
    expect(events.type).toMatch(/text\/event-stream/);
    expect(events.body).toMatch(/event: status\ndata: \{.*"imei":"359759002514931"/);

    for (const r of [metrics, status, page, events]) {
      expect(r.body).not.toContain(ICCID);
      expect(r.body).not.toContain(APN_PASSWORD);
    }
    expect(serve.stderr).not.toContain(APN_PASSWORD);
    serve.signal('SIGINT');
    expect(await serve.exited).toBe(0);
  });

  it('with AIR780_PROXY_AUTH the status server asks for the same credentials (Basic) and never echoes them', async () => {
    const serve = await spawnServe(['--mock'], { AIR780_PROXY_AUTH: AUTH });
    const denied = await get(serve.statusPort, '/status.json');
    expect(denied.status).toBe(401);
    const wrong = await get(serve.statusPort, '/metrics', {
      Authorization: `Basic ${Buffer.from('dave:wrong').toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
    const basic = { Authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` };
    const ok = await get(serve.statusPort, '/status.json', basic);
    expect(ok.status).toBe(200);
    const metrics = await get(serve.statusPort, '/metrics', basic);
    expect(metrics.status).toBe(200);
    for (const r of [denied, wrong, ok, metrics]) {
      expect(r.body).not.toContain('st4tus');
      expect(r.body).not.toContain(Buffer.from(AUTH).toString('base64'));
      expect(r.body).not.toContain(ICCID);
    }
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);
  });

  it('--status beyond loopback without credentials: exit 2 with a hint; --status off: none', async () => {
    const r = await runCli(['serve', '--mock', '--status', '0.0.0.0:9780'], { env: { AIR780_PROXY_AUTH: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/0\.0\.0\.0 \(beyond this machine\) needs credentials/);
    expect(r.stderr).toMatch(/hint: set AIR780_PROXY_AUTH=/);
    expect((await runCli(['serve', '--mock', '--status', 'nonsense'])).code).toBe(2);
    const off = await spawnServe(['--mock', '--status', 'off']);
    expect(off.stderr).toMatch(/ status=off modules=1/);
    expect(off.statusPort).toBe(0);
    off.signal('SIGTERM');
    expect(await off.exited).toBe(0);
  });

  it('--help tells about --status', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.stdout).toMatch(/--status HOST:PORT/);
    expect(r.stdout).toMatch(/status=HOST:PORT/);
  });
});
