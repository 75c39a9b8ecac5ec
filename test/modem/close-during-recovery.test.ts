/**
 * modem.close() while recovery waits out its back-off: a library user's process must exit by
 * itself. Run in a child process, since what is tested is that nothing keeps the event loop alive.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/build.js';

/** Opens a mock modem, makes the module stop answering, waits for the failed recovery's reset, closes. */
const CHILD = `
import { MockModem, Modem } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};
const mock = new MockModem();
const modem = await Modem.open({
  stream: mock.hostStream(), syncIntervalMs: 100, syncAttempts: 2, pollIntervalMs: 50, resyncTimeoutMs: 200,
  resetAfterSyncFailures: 1, recoveryBackoffMs: 60000, recoveryMaxBackoffMs: 60000,
});
// The module answers nothing for a minute: recovery's sync fails, then a reset, then the back-off.
mock.stall(60000);
const reset = new Promise((resolve) => modem.on('progress', (p) => p.step === 'reset' && resolve()));
mock.deactivatePdp();
await reset;
// The attempt fails right after its reset is written; give it a moment to reach the back-off sleep.
await new Promise((r) => setTimeout(r, 100));
await modem.close();
await mock.close();
process.stdout.write('closed\\n');
`;

describe('modem.close() during recovery', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 120_000);

  it('cancels the back-off sleep: the process exits by itself within 1 s of close', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let closedAt: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (closedAt === undefined && stdout.includes('closed\n')) closedAt = performance.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = await new Promise<{ code: number | null; afterCloseMs: number | undefined }>((resolve) => {
      // Generous for a loaded machine; without the fix the back-off holds the process for 60 s.
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', (code) => {
        clearTimeout(kill);
        resolve({ code, afterCloseMs: closedAt === undefined ? undefined : performance.now() - closedAt });
      });
    });
    expect(stderr).toBe('');
    expect(stdout).toBe('closed\n');
    expect(exit.code).toBe(0);
    expect(exit.afterCloseMs).toBeLessThan(1000);
  }, 30_000);
});
