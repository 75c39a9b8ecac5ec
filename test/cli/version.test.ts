/**
 * VERSION comes from package.json: the built library is copied next to a package.json with
 * another version, and must report that one (a hard-coded constant would not).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './build.js';
import { VERSION } from '../../src/index.js';

// Inside the checkout, so the copy resolves its dependencies from node_modules as the original does.
const COPY = join(ROOT, 'node_modules/.cache/air780-version-test');

describe('VERSION', () => {
  beforeAll(async () => {
    await ensureBuilt();
    rmSync(COPY, { recursive: true, force: true });
    mkdirSync(COPY, { recursive: true });
    cpSync(join(ROOT, 'dist'), join(COPY, 'dist'), { recursive: true });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(COPY, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7-version-test' }));
  }, 120_000);
  afterAll(() => rmSync(COPY, { recursive: true, force: true }));

  it('is the version in package.json, in the source and in the build, and matches air780 --version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const run = promisify(execFile);
    const lib = await run(process.execPath, [
      '--input-type=module',
      '-e',
      `import { VERSION } from ${JSON.stringify(join(COPY, 'dist/index.js'))}; process.stdout.write(VERSION);`,
    ]);
    expect(lib.stdout).toBe('9.8.7-version-test');
    const cli = await run(process.execPath, [join(COPY, 'dist/cli/main.js'), '--version']);
    expect(cli.stdout.trim()).toContain('9.8.7-version-test');
  });
});
