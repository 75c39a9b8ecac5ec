/**
 * `air780 mock --link PATH --latency 50 --baud 115200` used by other `air780` commands as a serial
 * port (`info --port PATH`, `ws --port PATH`), and `air780 bench --quick --only echo-rtt --out DIR`,
 * all spawned as a user would run them.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';
import { startRecordingServer } from './ws-helpers.js';

const cleanups = useBuiltCli();

describe('air780 mock --link --latency 50 --baud 115200, used by other commands', () => {
  it('info --port PATH reads the module through the pty and exits 0; quit on stdin stops the mock and removes PATH', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'air780-cli-link-')), 'tty');
    const mock = startCli(['mock', '--link', link, '--latency', '50', '--baud', '115200']);
    cleanups.push(() => mock.kill());
    await mock.waitFor(/mock: ready on /, 'mock ready line', 'stderr', 30_000);
    expect(existsSync(link)).toBe(true);

    const r = await runCli(['info', '--port', link], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Model +Air780E$/m);
    expect(r.stdout).toMatch(/^IMEI +359759002514931$/m);
    expect(r.stdout).toMatch(/^Registration +home/m);
    expect(r.stderr).toContain(`opening ${link}`);

    mock.write('quit\n');
    expect(await mock.exited).toBe(0);
    expect(existsSync(link)).toBe(false);
  }, 120_000);

  it('ws --port PATH: a websocket through the linked mock echoes a line and closes cleanly', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'air780-cli-link-')), 'tty');
    const mock = startCli(['mock', '--link', link, '--latency', '50', '--baud', '115200']);
    cleanups.push(() => mock.kill());
    await mock.waitFor(/mock: ready on /, 'mock ready line', 'stderr', 30_000);
    const s = await startRecordingServer();
    cleanups.push(() => s.close());

    const r = await runCli(['ws', '--port', link, '--linger', '500', s.url('/linked')], {
      input: 'through the pty\n',
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('through the pty\n');
    expect(s.connections[0]!.messages.map((m) => m.data.toString())).toEqual(['through the pty']);

    mock.write('quit\n');
    expect(await mock.exited).toBe(0);
  }, 120_000);
});

interface BenchRecord {
  name: string;
  transport: string;
  baud: number;
  direction: string;
  messageBytes: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  wireMs?: number | null;
}

describe('air780 bench --quick --only echo-rtt --out DIR', () => {
  it('exits 0 and writes echo-rtt records with numeric p50/p99 next to the wire time, plus the table and chart', async () => {
    const out = mkdtempSync(join(tmpdir(), 'air780-cli-bench-'));
    const r = await runCli(['bench', '--quick', '--only', 'echo-rtt', '--out', out], { timeoutMs: 170_000 });
    expect(r.code, r.stderr).toBe(0);
    const records = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchRecord[];
    const echo = records.filter((x) => x.name === 'echo-rtt');
    expect(echo.length, JSON.stringify(records)).toBeGreaterThan(0);
    // Nothing but what --only asked for was measured (peak RSS of the run is reported alongside).
    expect(records.filter((x) => x.name !== 'echo-rtt').map((x) => x.name)).toEqual(
      records.filter((x) => x.name === 'peak-rss').map((x) => x.name),
    );
    expect(new Set(echo.map((x) => x.messageBytes))).toEqual(new Set([32, 1024]));
    for (const x of echo) {
      expect(x.transport).toBe('modem-mock');
      expect(x.direction).toBe('echo');
      for (const v of [x.p50Ms, x.p99Ms, x.wireMs]) {
        expect(typeof v).toBe('number');
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThan(0);
      }
      expect(x.p99Ms!).toBeGreaterThanOrEqual(x.p50Ms!);
      // A round trip cannot beat the time its bytes take on the simulated line (load only adds).
      expect(x.p50Ms!).toBeGreaterThanOrEqual(x.wireMs!);
    }
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(/\| echo-rtt \| modem-mock \|/);
    expect(readFileSync(join(out, 'results.svg'), 'utf8')).toMatch(/^<svg|<svg /m);
    expect(r.stderr).toContain(`wrote ${join(out, 'results.json')}`);
  }, 180_000);
});
