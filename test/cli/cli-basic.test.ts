import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, ROOT, runCli } from './build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

describe('air780 (spawned as a user runs it)', () => {
  it('the bin entry starts with a node shebang', () => {
    expect(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('--help lists every command; <cmd> --help lists its options', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['ports', 'info', 'at', 'ws', 'mock', 'demo', 'bench'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toMatch(/^Exit status: 0 success, 1 failure .*, 2 bad command line\.$/m);
    const at = await runCli(['at', '--help']);
    expect(at.code).toBe(0);
    expect(at.stdout).toMatch(/up\/down arrows recall/);
    expect(at.stdout).toMatch(/Ctrl-C, Ctrl-D or "exit" leaves/);
    const ws = await runCli(['ws', '--help']);
    expect(ws.code).toBe(0);
    expect(ws.stdout).toMatch(/^Usage: air780 ws \[options\] <url>/);
    for (const f of [
      '--echo',
      '--header',
      '--keepalive',
      '--tls',
      '--ca',
      '--insecure',
      '--rx',
      '--no-deflate',
      '--binary',
      '--port',
      '--mock',
    ])
      expect(ws.stdout).toContain(f);
  });

  it('usage errors: one line with a hint, exit status 2, nothing on stdout', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^air780: unknown command 'frobnicate'\n {2}hint: commands: ports, info/);
    const flag = await runCli(['info', '--mokc']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe(
      "air780: air780 info: unknown option --mokc (did you mean --mock?)\n  hint: run 'air780 info --help' for the options\n",
    );
    const missing = await runCli(['ws', '--mock']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing <url>');
    const badNum = await runCli(['demo', '--count', 'three']);
    expect(badNum.code).toBe(2);
    expect(badNum.stderr).toContain("--count needs a whole number, got 'three'");
  });

  it('a port that does not exist: exit 1, one clear line with a hint', async () => {
    const r = await runCli(['info', '--port', '/dev/air780-does-not-exist']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    const err = lines.find((l) => l.startsWith('air780: '));
    expect(err).toMatch(/\/dev\/air780-does-not-exist/);
    expect(r.stderr).toContain('--verbose');
  });

  it("ports lists the machine's serial ports (or says there are none) and exits 0", async () => {
    const r = await runCli(['ports']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    const json = await runCli(['ports', '--json']);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as { path: string; isAir780: boolean }[];
    expect(Array.isArray(list)).toBe(true);
    if (list.length === 0) expect(r.stdout).toBe('no serial ports found\n');
    else for (const p of list) expect(r.stdout).toContain(p.path);
  });
});
