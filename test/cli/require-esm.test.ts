/**
 * A CommonJS user's first try, `require('air780-bridge')`, gets an error that says the package is
 * ESM and what to write instead (not Node's ERR_PACKAGE_PATH_NOT_EXPORTED); `import()` still works.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './build.js';

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  // A user's project with this checkout installed as its dependency.
  dir = mkdtempSync(join(tmpdir(), 'air780-cjs-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'air780-bridge'), 'dir');
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = (code: string) =>
  spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', timeout: 20_000 });

describe('require("air780-bridge")', () => {
  it('fails with "this package is ESM" and the import() to use', () => {
    const r = node("require('air780-bridge')");
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(r.stderr).toContain('air780-bridge is an ES module and cannot be require()d');
    expect(r.stderr).toContain("await import('air780-bridge')");
  });

  it("the same for the 'air780-bridge/mock' subpath", () => {
    const r = node("require('air780-bridge/mock')");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('air780-bridge is an ES module and cannot be require()d');
  });

  it('caught, it carries code ERR_REQUIRE_ESM', () => {
    const r = node("try { require('air780-bridge') } catch (e) { console.log(e.code) }");
    expect(r.stdout.trim()).toBe('ERR_REQUIRE_ESM');
  });

  it('import() from CommonJS gets the package', () => {
    const r = node("import('air780-bridge').then((m) => console.log(typeof m.Modem, typeof m.websocket.create))");
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function');
  });
});
