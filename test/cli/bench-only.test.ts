import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './build.js';
import { useBuiltCli } from './spawn.js';

const cleanups = useBuiltCli();

describe('air780 bench --only', () => {
  it('a name that selects no measurement is a usage error (exit 2) and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-bench-only-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const r = await runCli(['bench', '--only', 'bogus', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--only "bogus" selects no measurement; choose from ws-throughput, ws-over-modem, cpu, echo-rtt, deflate, line-rate, socket-throughput/,
    );
    expect(existsSync(out)).toBe(false);
    expect(r.stderr).not.toMatch(/bench server on/);
  });
});
