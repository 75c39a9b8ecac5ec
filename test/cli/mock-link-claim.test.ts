/**
 * `air780 mock --link PATH` never takes over a path it did not make: a second mock on a live
 * mock's PATH is refused (exit 2) and the first stays reachable; a stale link needs --force; on exit
 * only the link this mock made is removed. A missing directory and a missing python3 are named.
 */
import { existsSync, lstatSync, mkdtempSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';

const cleanups = useBuiltCli();
const freshDir = () => mkdtempSync(join(tmpdir(), 'air780-cli-claim-'));

function startMock(link: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const mock = startCli(['mock', '--link', link, ...extra], env);
  cleanups.push(() => mock.kill());
  return mock;
}

describe('air780 mock --link PATH', () => {
  it('refuses the PATH of a running mock (exit 2), which stays reachable and is removed by its own mock only', async () => {
    const link = join(freshDir(), 'tty');
    const first = startMock(link);
    await first.waitFor(/mock: ready on /, 'first mock ready', 'stderr', 30_000);
    const target = readlinkSync(link);

    const second = await runCli(['mock', '--link', link], { timeoutMs: 30_000 });
    expect(second.code).toBe(2);
    expect(second.stderr).toBe(
      `air780: ${link} already exists\n  hint: another mock may be running on it: choose another --link PATH, or add --force to replace a stale link\n`,
    );
    expect(readlinkSync(link)).toBe(target);
    const info = await runCli(['info', '--port', link], { timeoutMs: 60_000 });
    expect(info.code, info.stderr).toBe(0);

    first.write('quit\n');
    expect(await first.exited).toBe(0);
    expect(existsSync(link)).toBe(false);
  }, 120_000);

  it('replaces a stale link only with --force', async () => {
    const link = join(freshDir(), 'tty');
    symlinkSync('/dev/pts/nonexistent-stale', link);
    const refused = await runCli(['mock', '--link', link], { timeoutMs: 30_000 });
    expect(refused.code).toBe(2);
    expect(readlinkSync(link)).toBe('/dev/pts/nonexistent-stale');

    const mock = startMock(link, ['--force']);
    await mock.waitFor(/mock: ready on /, 'mock ready', 'stderr', 30_000);
    expect(readlinkSync(link)).toMatch(/^\/dev\/pts\/\d+$/);
    mock.write('quit\n');
    expect(await mock.exited).toBe(0);
    expect(existsSync(link)).toBe(false);
  }, 120_000);

  it('on exit, leaves a link at PATH that someone else put there meanwhile', async () => {
    const link = join(freshDir(), 'tty');
    const mock = startMock(link);
    await mock.waitFor(/mock: ready on /, 'mock ready', 'stderr', 30_000);
    unlinkSync(link);
    symlinkSync('/dev/null', link);
    mock.write('quit\n');
    expect(await mock.exited).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('/dev/null');
  }, 120_000);

  it('names a missing directory (exit 2) instead of hinting at serial ports', async () => {
    const dir = join(freshDir(), 'nodir');
    const r = await runCli(['mock', '--link', join(dir, 'x')], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `air780: cannot create ${join(dir, 'x')}: the directory ${dir} does not exist\n  hint: create it first (mkdir -p ${dir}), or choose another --link PATH\n`,
    );
  }, 60_000);

  it('finds python3 on PATH, takes $AIR780_PYTHON, and names what is missing', async () => {
    const link = join(freshDir(), 'tty');
    const noPython = await runCli(['mock', '--link', link], { timeoutMs: 30_000, env: { PATH: freshDir() } });
    expect(noPython.code).toBe(1);
    expect(noPython.stderr.split('\n')[0]).toBe(
      "air780: The mock's pty needs python3 (its pty module), and there is no python3 on PATH: install it (Debian: apt-get install python3), or set AIR780_PYTHON to its path. (ERR_MOCK_NO_PYTHON)",
    );
    expect(existsSync(link)).toBe(false);

    const badEnv = await runCli(['mock', '--link', link], {
      timeoutMs: 30_000,
      env: { AIR780_PYTHON: '/nonexistent/python3' },
    });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr.split('\n')[0]).toBe(
      'air780: AIR780_PYTHON=/nonexistent/python3 is not an executable file: point it at python3, or unset it to use the python3 on PATH. (ERR_MOCK_NO_PYTHON)',
    );

    // The python3 on PATH is the one run: a wrapper that leaves a mark, then runs the real one.
    const bin = freshDir();
    writeFileSync(join(bin, 'python3'), `#!/bin/sh\n: > '${join(bin, 'ran')}'\nexec /usr/bin/python3 "$@"\n`, {
      mode: 0o755,
    });
    const viaPath = startMock(link, [], { PATH: bin });
    await viaPath.waitFor(/mock: ready on /, 'mock ready with python3 from PATH', 'stderr', 30_000);
    expect(existsSync(join(bin, 'ran'))).toBe(true);
    viaPath.write('quit\n');
    expect(await viaPath.exited).toBe(0);
  }, 120_000);
});
