/**
 * The mock is importable as `air780-bridge/mock` (package.json exports), by name, as a user's
 * test suite would import it; the tools moved out of the library layers are not part of it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/build.js';

describe("the 'air780-bridge/mock' subpath", () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 120_000);

  it('resolves by package name to the built mock, with its types, and a module answers AT through it', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; import: string }>;
    };
    const sub = pkg.exports['./mock']!;
    expect(existsSync(join(ROOT, sub.types))).toBe(true);
    // A file inside the package imports itself by name (Node's self-reference through "exports").
    const code = `
      import * as mock from 'air780-bridge/mock';
      const m = new mock.MockModem();
      const s = m.hostStream();
      let out = '';
      s.on('data', (d) => { out += d; if (out.includes('OK')) { process.stdout.write(JSON.stringify({ out, keys: Object.keys(mock).sort() })); m.close(); } });
      s.write('AT\\r');
    `;
    const r = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT });
    const { out, keys } = JSON.parse(r.stdout) as { out: string; keys: string[] };
    expect(out).toContain('OK');
    expect(keys).toContain('MockModem');
    expect(keys).not.toContain('measureLineRate');
  });
});
