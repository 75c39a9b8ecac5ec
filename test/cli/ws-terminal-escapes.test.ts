/**
 * Issue 17 item 7: a server must not drive the user's terminal through `air780 ws`. Text messages,
 * printable binary, the close reason and the HTTP status text of a refused handshake are shown
 * with their control characters escaped on a real pty (python relay, test/cli/pty.ts): no ESC,
 * BEL, C1 or bidi override reaches the terminal, and every CR is the tty's own CRLF. `--raw` gives
 * the unaltered text only when stdout is not a terminal.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { MAIN, ROOT, runCli } from './build.js';
import { runInPty } from './pty.js';
import { useBuiltCli } from './spawn.js';

useBuiltCli();
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const HOSTILE: Array<string | Buffer> = [
  '\x1b]0;PWNED-TITLE\x07after-title',
  `\x1b]52;c;${Buffer.from('rm -rf ~').toString('base64')}\x07after-clipboard`,
  '\x1b[2J\x1b[Hafter-clear',
  'line\r$ fake-prompt',
  '\u009b31mC1-CSI \u009d0;C1-TITLE\u009c',
  'safe\u202eevil',
  Buffer.from('bin\rFAKE'),
];
const CLOSE_REASON = '\x1b]0;CLOSE-TITLE\x07bye';

/** Sends HOSTILE to the first client, then closes with CLOSE_REASON. */
async function hostileServer(): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    for (const m of HOSTILE) ws.send(m, { binary: Buffer.isBuffer(m) });
    ws.close(1000, CLOSE_REASON);
  });
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
  return (wss.address() as AddressInfo).port;
}

/** Answers any request with a 403 whose status text carries a title-setting sequence. */
async function hostileStatusServer(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.1 403 \x1b]0;STATUS-TITLE\x07Forbidden\u009b2J\r\nContent-Length: 2\r\n\r\nno'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** What a terminal could act on: ESC, BEL, other C0 but TAB/LF/the tty's CR before LF, DEL, C1, bidi. */
function actionable(raw: string): string[] {
  // eslint-disable-next-line no-control-regex
  return [...raw.replace(/\r\n/g, '\n').matchAll(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g)].map((m) =>
    JSON.stringify(m[0]),
  );
}

describe('air780 ws on a terminal', () => {
  for (const extra of [[], ['--raw']]) {
    it(`${extra.join(' ') || 'default'}: messages and the close reason are shown escaped, nothing reaches the terminal raw`, async () => {
      const port = await hostileServer();
      const pty = runInPty(process.execPath, [MAIN, 'ws', '--mock', ...extra, `ws://127.0.0.1:${port}/`], ROOT);
      cleanup.push(() => pty.kill());
      await pty.waitFor(/closed: 1000/, 'the close status line', 60_000);
      expect(await pty.exited).toBe(0);
      expect(actionable(pty.raw), pty.raw).toEqual([]);
      const shown = pty.text;
      for (const line of [
        '\\x1b]0;PWNED-TITLE\\x07after-title',
        '\\x1b]52;c;cm0gLXJmIH4=\\x07after-clipboard',
        '\\x1b[2J\\x1b[Hafter-clear',
        'line\\r$ fake-prompt',
        '\\x9b31mC1-CSI \\x9d0;C1-TITLE\\x9c',
        'safe\\u202eevil',
        'bin\\rFAKE',
        'closed: 1000 \\x1b]0;CLOSE-TITLE\\x07bye',
      ]) {
        expect(shown.split('\n'), shown).toContain(line);
      }
      if (extra.length) expect(shown).toMatch(/warning: --raw ignored: stdout is a terminal/);
    });
  }

  it('the status text of a refused handshake (and its --verbose trace) is shown escaped', async () => {
    const port = await hostileStatusServer();
    const pty = runInPty(
      'env',
      [
        'DEBUG=air780:ws*',
        'DEBUG_COLORS=no',
        process.execPath,
        MAIN,
        'ws',
        '--mock',
        '--verbose',
        `ws://127.0.0.1:${port}/`,
      ],
      ROOT,
    );
    cleanup.push(() => pty.kill());
    expect(await pty.exited).toBe(1);
    expect(actionable(pty.raw), pty.raw).toEqual([]);
    expect(pty.text).toContain(
      'air780: The server answered HTTP 403 \\x1b]0;STATUS-TITLE\\x07Forbidden\u00c2\\x9b2J instead',
    );
    expect(pty.text).toMatch(/response 403 \\x1b\]0;STATUS-TITLE\\x07Forbidden/);
  });
});

describe('air780 ws into a pipe', () => {
  it('escaped by default; --raw writes the text exactly as the server sent it', async () => {
    const port = await hostileServer();
    const escaped = await runCli(['ws', '--mock', `ws://127.0.0.1:${port}/`], { timeoutMs: 60_000 });
    expect(escaped.code, escaped.stderr).toBe(0);
    expect(actionable(escaped.stdout + escaped.stderr)).toEqual([]);
    expect(escaped.stdout.split('\n')[0]).toBe('\\x1b]0;PWNED-TITLE\\x07after-title');
    const raw = await runCli(['ws', '--mock', '--raw', `ws://127.0.0.1:${port}/`], { timeoutMs: 60_000 });
    expect(raw.code, raw.stderr).toBe(0);
    const texts = HOSTILE.filter((m): m is string => typeof m === 'string');
    expect(raw.stdout).toBe([...texts, 'bin\rFAKE'].map((t) => `${t}\n`).join(''));
    // Status lines are for people: escaped even then.
    expect(raw.stderr).toContain('closed: 1000 \\x1b]0;CLOSE-TITLE\\x07bye');
  });
});
