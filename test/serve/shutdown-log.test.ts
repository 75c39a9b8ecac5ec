/** `--log`: tunnels still open at shutdown are logged ('shutdown') before the log file closes. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAccessLog } from '../../src/serve/index.js';
import { startEchoServer } from '../helpers/servers.js';
import { defer } from '../integration/helpers.js';
import { rawClient, readBytes, startBed } from './helpers.js';

describe('access log at shutdown', () => {
  it('every tunnel open at close() gets its line, ended "shutdown"', async () => {
    const echo = await startEchoServer();
    defer(() => echo.close());
    const path = join(mkdtempSync(join(tmpdir(), 'air780-serve-log-')), 'log.jsonl');
    const errors: Error[] = [];
    const bed = await startBed({ log: openAccessLog(path, (e) => errors.push(e)) });
    for (let i = 0; i < 4; i++) {
      const c = await rawClient(bed.socksPort);
      c.socket.on('error', () => {});
      c.socket.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echo.port >> 8, echo.port & 0xff]));
      expect([...(await readBytes(c.socket, 12)).subarray(0, 2)]).toEqual([5, 0]);
      c.socket.write('ping');
      expect((await readBytes(c.socket, 4)).toString()).toBe('ping');
    }
    await bed.proxies.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ended: string; up: number; down: number; module: string });
    expect(errors).toEqual([]);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatchObject({ ended: 'shutdown', up: 4, down: 4, module: 'mock0' });
  });
});
