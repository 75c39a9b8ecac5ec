/** `--apn --user --password` (or $AIR780_APN_PASSWORD) reach AT+CSTT; the password is never printed. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer } from '../../src/cli/echo-server.js';
import { runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';

const cleanups = useBuiltCli();

/** The mock on a pty with its AT traffic shown (-v): the test's view of what the module got. */
async function tracedMock(): Promise<{ link: string; saw: (text: string) => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'air780-apn-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'tty');
  const mock = startCli(['mock', '--link', link, '-v']);
  cleanups.push(() => mock.kill());
  await mock.waitFor(/mock: ready on /, 'mock not ready', 'stderr');
  const literal = (t: string): RegExp => new RegExp(t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { link, saw: (text) => mock.waitFor(literal(text), `the mock never got ${text}`, 'stderr') };
}

describe('private APN credentials', () => {
  it('--user/--password go to AT+CSTT; not in the output, not in --verbose traces', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => echo.close());
    const m = await tracedMock();
    const r = await runCli(
      [
        'ws',
        '--port',
        m.link,
        '--apn',
        'corp.apn',
        '--user',
        'alice',
        '--password',
        'Pw-s3cret!',
        '--verbose',
        '--no-deflate',
        '--linger',
        '300',
        `${echo.url}/ws/echo2`,
      ],
      {
        input: 'hello\n',
        timeoutMs: 30_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello\n');
    // The -v trace is polled: wait for the line rather than read it at once.
    await m.saw('> AT+CSTT=\\"corp.apn\\",\\"alice\\",\\"Pw-s3cret!\\"');
    expect(r.stdout + r.stderr).not.toContain('Pw-s3cret!');
    // The traces did show the command, redacted.
    expect(r.stderr).toContain('AT+CSTT="corp.apn","alice","***"');
  });

  it('$AIR780_APN_PASSWORD instead of argv', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => echo.close());
    const m = await tracedMock();
    const r = await runCli(
      [
        'ws',
        '--port',
        m.link,
        '--apn',
        'corp.apn',
        '--user',
        'bob',
        '--no-deflate',
        '--linger',
        '300',
        `${echo.url}/ws/echo2`,
      ],
      {
        input: 'x\n',
        env: { AIR780_APN_PASSWORD: 'from-env-pw' },
        timeoutMs: 30_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    await m.saw('> AT+CSTT=\\"corp.apn\\",\\"bob\\",\\"from-env-pw\\"');
    expect(r.stdout + r.stderr).not.toContain('from-env-pw');
  });

  it('--password without --apn is a usage error', async () => {
    const r = await runCli(['ws', '--mock', '--password', 'x', 'ws://127.0.0.1:1/']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^air780: --user and --password need --apn/m);
  });
});
