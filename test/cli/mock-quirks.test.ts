/** `air780 mock --quirk NAME`: unknown names refused with the list, valid ones listed and applied. */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCli } from './build.js';
import { startCli, type CliSession } from './spawn.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

const QUIRKS = [
  'cgreg-for-cereg',
  'connect-no-space',
  'boot-garbage',
  'urc-after-prompt',
  'tls-close-ok',
  'echo-after-reboot',
];

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

describe('air780 mock --quirk', () => {
  it('an unknown quirk: exit 2, the valid names listed, no pty created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-quirk-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const link = join(dir, 'tty');
    const r = await runCli(['mock', '--link', link, '--quirk', 'cgreg-for-cereg', '--quirk', 'connect-nospace']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown quirk 'connect-nospace'");
    expect(r.stderr).toContain(`hint: valid quirks: ${QUIRKS.join(', ')}`);
    expect(existsSync(link)).toBe(false);
  });

  it('--help lists every quirk with what it does', async () => {
    const r = await runCli(['mock', '--help']);
    expect(r.code).toBe(0);
    for (const q of QUIRKS) expect(r.stdout).toMatch(new RegExp(`^  ${q} +\\S`, 'm'));
  });

  it('a valid quirk is applied: cgreg-for-cereg answers AT+CEREG? with +CGREG:', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'air780-quirk-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const link = join(dir, 'tty');
    const mock: CliSession = startCli(['mock', '--link', link, '--quirk', 'cgreg-for-cereg']);
    cleanups.push(() => mock.kill());
    await mock.waitFor(/mock: ready on /, 'mock not ready', 'stderr');
    const r = await runCli(['at', '--port', link], { input: 'AT+CEREG?\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('+CGREG: 0,1\nOK\n');
  });
});
