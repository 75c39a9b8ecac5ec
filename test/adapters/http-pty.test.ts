import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/build.js';
import { defer } from '../integration/helpers.js';
import { request, sha256, startHttpServer } from './http-server.js';
import { openPtyModem } from './pty-mock.js';

beforeAll(() => ensureBuilt(), 180_000);

// 115200 baud carries ~11 KB/s: 64 KiB each way keeps this case under a minute; the 1 MiB
// transfers run over the in-process mock (http.test.ts).
describe('httpAgent over the mock in its own process behind a pty (115200 baud, 2 ms latency)', () => {
  it('GET and POST byte-exact, keep-alive on one link, and a link cut mid-response errors instead of hanging', async () => {
    const { modem, fault } = await openPtyModem('pull');
    const server = await startHttpServer();
    defer(() => server.close());
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    const got = await request(http, `${server.url}/blob?bytes=65536`, { agent });
    expect(sha256(got.body)).toBe(got.headers['x-sha256']);
    expect(sha256(got.body)).toBe(sha256(server.blob.subarray(0, 65536)));
    const up = randomBytes(64 * 1024);
    const posted = await request(http, `${server.url}/upload`, { agent, method: 'POST' }, up);
    expect(JSON.parse(posted.body.toString())).toEqual({ sha256: sha256(up), length: up.length });
    expect(posted.reused).toBe(true);
    expect(server.connections).toBe(1);
    const err = await new Promise<Error & { code?: string }>((resolve, reject) => {
      const req = http.get(`${server.url}/slow`, { agent }, (res) => {
        res.once('data', () => fault('close 0'));
        res.on('error', resolve);
        res.on('end', () => reject(new Error('the response ended although the link was cut')));
      });
      req.on('error', resolve);
    });
    expect(err.code).toBe('ECONNRESET');
  }, 120_000);
});
