/**
 * `air780 at` at the edges of a session: a restart while nothing runs, a port that goes away while
 * the user can still type, and leaving (Ctrl-C) inside a variable-length send.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtConsole, type ConsoleOutput } from '../../src/cli/console.js';
import { MAIN, ROOT, runCli } from './build.js';
import { runInPty } from './pty.js';
import { startCli, useBuiltCli } from './spawn.js';
import { fakeModule } from './fake-module.js';
import { startTcpServer } from './tcp-server.js';

const cleanups = useBuiltCli();
const tick = () => new Promise((r) => setImmediate(r));

/** `air780 mock --link` on a fresh pty path. */
async function mockOnPty(): Promise<{ link: string; quit: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'air780-atlife-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'tty');
  const mock = startCli(['mock', '--link', link]);
  cleanups.push(() => mock.kill());
  await mock.waitFor(/mock: ready on /, 'mock not ready', 'stderr');
  return { link, quit: () => mock.write('quit\n') };
}

/** A TCP server on 127.0.0.1 that takes connections and echoes nothing back. */
function sink(): Promise<number> {
  return startTcpServer(cleanups);
}

describe('air780 at: session edges', () => {
  it('RDY while idle: the module is single-link again, so AT+CIPSEND=<n> announces a length', async () => {
    const m = fakeModule();
    const shown: ConsoleOutput[] = [];
    const con = new AtConsole(m.stream, { output: (o) => shown.push(o), mux: true });
    m.send(Buffer.from('\r\nRDY\r\n'));
    await tick();
    con.submit('AT+CIPSEND=5');
    await tick();
    m.send(Buffer.from('\r\n> '));
    await tick();
    expect(shown).toContainEqual({ kind: 'prompt', remaining: 5 });
    con.submit('hello');
    await tick();
    expect(m.written().toString('latin1')).toBe('AT+CIPSEND=5\rhello');
    con.close();
  });

  it('the port goes away while stdin is still open: the console says so and exits 1 at once', async () => {
    const m = await mockOnPty();
    const at = startCli(['at', '--port', m.link]);
    cleanups.push(() => at.kill());
    at.write('AT+CSQ\n');
    await at.waitFor(/^\+CSQ: \d+,\d+\nOK\n/m, 'no answer to AT+CSQ');
    m.quit();
    const code = await Promise.race([
      at.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    expect(code, at.stderr).toBe(1);
    expect(at.stderr).toMatch(/\(the port (closed|failed)/);
  }, 40_000);

  it('Ctrl-C inside a variable-length send cancels it (ESC): the next session on the port gets answers', async () => {
    const m = await mockOnPty();
    const port = await sink();
    const s = runInPty(process.execPath, [MAIN, 'at', '--port', m.link], ROOT);
    cleanups.push(() => s.kill());
    await s.waitFor(/Ctrl-C or Ctrl-D exits\.\nAT>$/, 'no prompt');
    for (const [c, answer] of [
      ['AT+CIPMUX=1', 'OK'],
      ['AT+CSTT', 'OK'],
      ['AT+CIICR', 'OK'],
      ['AT+CIFSR', '10.83.172.111'],
    ]) {
      s.type(`${c}\r`);
      await s.waitFor((t) => t.includes(`AT> ${c}\n${answer}\n`), `no ${answer} for ${c}`);
    }
    s.type(`AT+CIPSTART=0,"TCP","127.0.0.1",${port}\r`);
    await s.waitFor(/0, CONNECT OK/, 'no CONNECT OK');
    s.type('AT+CIPSEND=0\r');
    await s.waitFor(/AT\+CIPSEND=0\n> ?$/, 'no payload prompt');
    s.type('\x03');
    const code = await Promise.race([
      s.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    expect(code, s.text).toBe(0);
    expect(s.text).toContain('payload cancelled (exit): ESC sent');
    // The module is out of its prompt: a new session's AT is a command, not payload.
    const r = await runCli(['at', '--port', m.link], { input: 'AT+CIPSTATUS=0\n', timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^(\+CIPSTATUS: )?0,0,"TCP","127\.0\.0\.1","\d+","CONNECTED"\nOK\n/m);
  }, 60_000);
});
