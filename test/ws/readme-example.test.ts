/**
 * The README's LuatOS example: type-checked through test/ws/readme-luatos.ts (tsc, strict), kept
 * the same as that file here, and run exactly as the README prints it — as a user's app.mjs that
 * imports 'air780-bridge' — against the mock and a local echo server. It must see the echoes and
 * then exit by itself once it has closed the modem (nothing left holding the process open).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/build.js';
import { startEchoServer, type EchoServer } from '../../src/cli/echo-server.js';

const root = new URL('../../', import.meta.url);

/** The README's "### LuatOS style" ```ts block, line by line. */
function readmeBlock(): string[] {
  const lines = readFileSync(new URL('README.md', root), 'utf8').split('\n');
  const heading = lines.indexOf('### LuatOS style');
  expect(heading, 'README.md has a "### LuatOS style" section').toBeGreaterThanOrEqual(0);
  const start = lines.indexOf('```ts', heading) + 1;
  const end = lines.indexOf('```', start);
  expect(start > 0 && end > start, 'a ```ts block follows the heading').toBe(true);
  return lines.slice(start, end);
}

/** The lines between the README markers of readme-luatos.ts, importing the package by name as the README does. */
function checkedBlock(): string[] {
  const lines = readFileSync(new URL('test/ws/readme-luatos.ts', root), 'utf8').split('\n');
  const start = lines.indexOf('// README:BEGIN') + 1;
  const end = lines.indexOf('// README:END');
  expect(start > 0 && end > start).toBe(true);
  return lines.slice(start, end).map((l) => l.replace("from '../../src/index.js'", "from 'air780-bridge'"));
}

describe('README LuatOS example', () => {
  it('is the code that test/ws/readme-luatos.ts type-checks', () => {
    expect(readmeBlock()).toEqual(checkedBlock());
  });

  describe('run as written', () => {
    let dir: string | undefined;
    let echo: EchoServer | undefined;
    beforeAll(async () => {
      await ensureBuilt();
    }, 120_000);
    afterEach(async () => {
      await echo?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('echoes through the mock, then exits by itself once it closed the modem', async () => {
      // A user's project: app.mjs next to node_modules/air780-bridge (this checkout).
      dir = mkdtempSync(join(tmpdir(), 'air780-readme-'));
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'air780-bridge'), 'dir');
      // The block is TypeScript written so that it is plain JavaScript as well.
      writeFileSync(join(dir, 'app.mjs'), `${readmeBlock().join('\n')}\n`);
      echo = await startEchoServer();
      const child = spawn(process.execPath, ['app.mjs'], {
        cwd: dir,
        env: { ...process.env, WS_URL: `${echo.url}/ws/echo2` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let closedAt = 0;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // The binary echo's line comes from the same callback call that closes the modem.
        if (!closedAt && stdout.includes('got <Buffer 01 02 03> 2')) closedAt = Date.now();
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
      const sinceClose = Date.now() - closedAt;
      if (code === 'hung') child.kill('SIGKILL');
      const report = `stdout:\n${stdout}\nstderr:\n${stderr}`;
      expect(stdout, report).toContain('got 123456 1');
      expect(stdout, report).toContain('got <Buffer 01 02 03> 2');
      expect(closedAt, report).toBeGreaterThan(0);
      expect(code, report).toBe(0);
      // The bound: a process whose links were left open never exits at all.
      expect(sinceClose, report).toBeLessThan(2000);
    }, 60_000);
  });
});
