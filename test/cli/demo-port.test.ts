/** `air780 demo` and $AIR780_PORT: a named module needs --url; the mock only when no module is named. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer } from '../../src/cli/echo-server.js';
import { runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';

const cleanups = useBuiltCli();

describe('air780 demo with AIR780_PORT', () => {
  it('set, no --port, no --url: exit 2 with a hint, nothing opened', async () => {
    const r = await runCli(['demo', '--count', '1'], { env: { AIR780_PORT: '/dev/ttyACM-nonexistent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^air780: AIR780_PORT is set \(\/dev\/ttyACM-nonexistent\), so the demo runs on that module and needs a server it can reach: give --url$/m,
    );
    expect(r.stderr).toMatch(
      /hint: e\.g\. --url ws:\/\/.*--mock \(or unsetting AIR780_PORT\) runs it on the embedded mock/,
    );
    expect(r.stderr).not.toContain('opening');
  });

  it('set, with --url: the demo runs on the module AIR780_PORT names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-demo-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const link = join(dir, 'tty');
    const mock = startCli(['mock', '--link', link]);
    cleanups.push(() => mock.kill());
    await mock.waitFor(/mock: ready on /, 'mock not ready', 'stderr');
    const echo = await startEchoServer();
    cleanups.push(() => echo.close());
    const r = await runCli(
      ['demo', '--url', `${echo.url}/ws/echo`, '--count', '2', '--interval', '200', '--timeout', '30'],
      { env: { AIR780_PORT: link }, timeoutMs: 40_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`opening ${link}...`);
    // No local echo server of its own and no injected reboot: that is the mock-only path.
    expect(r.stderr).not.toContain('local echo server');
    expect(r.stderr).not.toContain('inject');
    expect(echo.echoed).toBeGreaterThanOrEqual(2);
  });

  it('set, with --mock: the embedded mock', async () => {
    const r = await runCli(['demo', '--mock', '--count', '1', '--interval', '200', '--no-reboot', '--timeout', '30'], {
      env: { AIR780_PORT: '/dev/ttyACM-nonexistent' },
      timeoutMs: 40_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('opening the embedded mock');
  });

  it('unset (as in CI): the embedded mock and a local echo server, as before', async () => {
    const r = await runCli(['demo', '--count', '1', '--interval', '200', '--no-reboot', '--timeout', '30'], {
      env: { AIR780_PORT: '' },
      timeoutMs: 40_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('local echo server (LuatOS protocol)');
    expect(r.stderr).toContain('opening the embedded mock');
  });
});
