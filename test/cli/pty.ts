/**
 * Runs a command on a real pty, as a person at a terminal would, without node-pty: a small Python
 * program (the standard `pty`-style openpty/fork) makes the pty the child's controlling terminal
 * and relays its own stdin to the pty and the pty's output to its own stdout. It exits with the
 * child's status (128 + N if a signal N killed it).
 */
import { spawn } from 'node:child_process';

const PYTHON = '/usr/bin/python3';

const RELAY = `
import fcntl, os, select, struct, sys, termios
argv = sys.argv[1:]
master, slave = os.openpty()
# A real terminal has a size; readline lays out the prompt with it.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    os.close(master)
    os.execvp(argv[0], argv)
os.close(slave)
inputs = [master, 0]
while True:
    ready, _, _ = select.select(inputs, [], [])
    if 0 in ready:
        data = os.read(0, 4096)
        if data:
            os.write(master, data)
        else:
            inputs.remove(0)
    if master in ready:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave descriptor is closed, the child is gone
            data = b''
        if not data:
            break
        os.write(1, data)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

export interface PtySession {
  /** Types bytes at the terminal. */
  type(text: string): void;
  /** Everything the terminal showed so far, raw (escape sequences included). */
  readonly raw: string;
  /** What the terminal shows now, scrollback included (see {@link screen}). */
  readonly text: string;
  /** Resolves once `test(text)` holds; rejects with the screen so far after `timeoutMs`. */
  waitFor(test: RegExp | ((text: string) => boolean), what: string, timeoutMs?: number): Promise<void>;
  /** The exit status of the command (via the relay). */
  readonly exited: Promise<number | null>;
  /** SIGKILLs the relay if it is still running (the pty hangs up, which ends the child). */
  kill(): void;
}

/**
 * What a terminal would show for `raw`, scrollback included, one string with `\n` between rows:
 * a small emulation of what readline emits (text, CR, LF, BS, cursor left/right/up/down/column,
 * erase in line, erase below). Other sequences are dropped. Lines never wrap (the pty is 100
 * columns wide and the tests' lines are shorter).
 */
export function screen(raw: string): string {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = (): string[] => (rows[row] ??= []);
  // eslint-disable-next-line no-control-regex
  const token = /\x1b\[([0-9;?]*)([ -/]*)([@-~])|\x1b\][^\x07]*\x07|\x1b.|[\s\S]/gu;
  for (const m of raw.matchAll(token)) {
    const t = m[0];
    if (m[3] !== undefined) {
      if (m[1]!.startsWith('?')) continue;
      const n = m[1] === '' ? undefined : Number(m[1]!.split(';')[0]);
      switch (m[3]) {
        case 'G':
          col = Math.max(0, (n ?? 1) - 1);
          break;
        case 'C':
          col += n ?? 1;
          break;
        case 'D':
          col = Math.max(0, col - (n ?? 1));
          break;
        case 'A':
          row = Math.max(0, row - (n ?? 1));
          break;
        case 'B':
          row += n ?? 1;
          break;
        case 'K':
          if (!n) line().length = Math.min(line().length, col);
          else if (n === 1) for (let i = 0; i <= col && i < line().length; i++) line()[i] = ' ';
          else line().length = 0;
          break;
        case 'J':
          if (!n) {
            line().length = Math.min(line().length, col);
            rows.length = row + 1;
          }
          break;
      }
      continue;
    }
    if (t.startsWith('\x1b')) continue;
    if (t === '\r') col = 0;
    else if (t === '\n') row++;
    else if (t === '\b') col = Math.max(0, col - 1);
    else if (t === '\x07') continue;
    else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = t;
    }
  }
  const out: string[] = [];
  for (let i = 0; i < rows.length; i++) out.push((rows[i] ?? []).join('').trimEnd());
  return out.join('\n');
}

/** Starts `command args...` on a fresh pty in `cwd`. */
export function runInPty(command: string, args: string[], cwd: string): PtySession {
  const child = spawn(PYTHON, ['-c', RELAY, command, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    type: (text) => void child.stdin.write(text),
    get raw() {
      return raw;
    },
    get text() {
      return screen(raw);
    },
    waitFor(test, what, timeoutMs = 15_000) {
      const ok = typeof test === 'function' ? test : (t: string) => test.test(t);
      return new Promise((resolve, reject) => {
        const start = Date.now();
        const tick = () => {
          if (ok(screen(raw))) return resolve();
          if (child.exitCode !== null)
            return reject(new Error(`${what}: the command exited (${child.exitCode}); screen:\n${screen(raw)}`));
          if (Date.now() - start > timeoutMs)
            return reject(new Error(`${what}: not within ${timeoutMs} ms; screen:\n${screen(raw)}`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
