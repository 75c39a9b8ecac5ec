// `air780 info --watch [S]`: the view again every S seconds until Ctrl-C (SIGINT, status 0).
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAIN, ROOT, ensureBuilt } from '../cli/build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

function run(args: string[]): {
  child: ReturnType<typeof spawn>;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!test()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('air780 info --watch', () => {
  it('refreshes every S seconds with growing serial counters, masks ICCID/IMSI, and ends with 0 on Ctrl-C', async () => {
    const p = run(['info', '--mock', '--watch', '0.5']);
    await until(() => (p.out().match(/Ctrl-C to stop/g) ?? []).length >= 3, 'three views');
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    const views = p
      .out()
      .split(/^air780 info · every 0\.5 s · \d\d:\d\d:\d\d · Ctrl-C to stop$/m)
      .slice(1);
    expect(views.length).toBeGreaterThanOrEqual(3);
    const serialOut = views.map((v) => Number(/^Serial\s+to module (\d+) B/m.exec(v)?.[1]));
    for (let i = 1; i < serialOut.length; i++) expect(serialOut[i]!).toBeGreaterThan(serialOut[i - 1]!);
    expect(views[0]).toMatch(/^IMEI\s+359759002514931$/m);
    expect(views[0]).toMatch(/^ICCID\s+8986…4201$/m);
    expect(views[0]).toMatch(/^IMSI\s+4600…7890$/m);
    expect(p.out()).not.toContain('89860117831003134201');
    expect(views[2]).toMatch(/^Signal trend\s+\S{3} \(-75…-75 dBm, last 3\)$/m);
  });

  it('with --json prints one JSON object a line', async () => {
    const p = run(['info', '--mock', '--watch', '0.5', '--json']);
    await until(() => p.out().split('\n').filter(Boolean).length >= 2, 'two lines');
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    const lines = p
      .out()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { imei: string; serial: { bytesOut: number } });
    expect(lines[0]!.imei).toBe('359759002514931');
    expect(lines[1]!.serial.bytesOut).toBeGreaterThan(lines[0]!.serial.bytesOut);
  });

  it('refuses seconds without --watch and out of range', async () => {
    for (const args of [
      ['info', '--mock', '5'],
      ['info', '--mock', '--watch', '0.1'],
      ['info', '--mock', '--watch', 'soon'],
    ]) {
      const p = run(args);
      expect(await p.exited).toBe(2);
      expect(p.err()).toMatch(/seconds|--watch/);
    }
  });
});
