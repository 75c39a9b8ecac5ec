import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import createDebug from 'debug';
import type { PortEndpoint, PortOwner } from './endpoint.js';
import { MockError } from './errors.js';
import { PTY_HELPER_SOURCE } from './pty-helper.js';

const log = createDebug('air780:mock:pty');
/** Names the python3 the pty relay runs with, instead of the first `python3` on PATH. */
export const PYTHON_ENV = 'AIR780_PYTHON';
const START_TIMEOUT_MS = 10_000;
/** Host bytes in flight towards the module before we stop reading the pty. */
const IN_FLIGHT_LIMIT = 64 * 1024;

/** A served pty: `path` is what a program opens with `serialport`. */
export interface ServedPty {
  path: string;
  close(): Promise<void>;
}

/** One running python relay: a pty whose slave the host opens. */
class PtyRelay implements PortEndpoint {
  private inFlight = 0;
  private paused = false;
  private dead = false;

  constructor(
    private readonly owner: PortOwner,
    readonly child: ChildProcess,
    readonly slave: string,
  ) {
    const out = child.stdout!;
    out.on('data', (d: Buffer) => {
      this.inFlight += d.length;
      if (this.inFlight > IN_FLIGHT_LIMIT && !this.paused) {
        this.paused = true;
        out.pause();
      }
      this.owner.fromHost(this, d, () => {
        this.inFlight -= d.length;
        if (this.paused && this.inFlight < IN_FLIGHT_LIMIT / 2) {
          this.paused = false;
          out.resume();
        }
      });
    });
    child.stdin!.on('drain', () => this.owner.resumeOutput(this));
    child.stdin!.on('error', () => {});
    child.on('exit', (code, signal) => {
      this.dead = true;
      log('pty relay %s exited (%s)', slave, code ?? signal);
    });
  }

  deliver(chunk: Buffer): boolean {
    if (this.dead) return true;
    return this.child.stdin!.write(chunk);
  }

  hangUp(): void {
    this.kill();
  }

  kill(): Promise<void> {
    if (this.dead || this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The python3 the relay runs with: `$AIR780_PYTHON` if set, else the first `python3` on PATH.
 * Node has no pty API of its own; Python's `pty` module is on every Linux this runs on (a Pi or a
 * gateway included), where a native pty addon would need a compiler or a prebuilt for the board.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[PYTHON_ENV];
  if (given) {
    if (isExecutable(given)) return given;
    throw new MockError(
      'ERR_MOCK_NO_PYTHON',
      `${PYTHON_ENV}=${given} is not an executable file: point it at python3, or unset it to use the python3 on PATH.`,
    );
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'python3');
    if (isExecutable(candidate)) return candidate;
  }
  throw new MockError(
    'ERR_MOCK_NO_PYTHON',
    `The mock's pty needs python3 (its pty module), and there is no python3 on PATH: install it (Debian: apt-get install python3), or set ${PYTHON_ENV} to its path.`,
  );
}

function startRelay(owner: PortOwner): Promise<PtyRelay> {
  let python: string;
  try {
    python = findPython();
  } catch (e) {
    return Promise.reject(e as Error);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', PTY_HELPER_SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    let done = false;
    const timer = setTimeout(
      () =>
        finish(
          new MockError('ERR_MOCK_PTY', `The pty helper (${python}) did not start within ${START_TIMEOUT_MS} ms.`),
        ),
      START_TIMEOUT_MS,
    );
    const finish = (e?: Error, relay?: PtyRelay): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        child.kill('SIGKILL');
        reject(e);
      } else resolve(relay!);
    };
    child.on('error', (e) =>
      finish(
        new MockError(
          'ERR_MOCK_PTY',
          `Cannot run ${python} for the pty helper: ${e.message}. Install python3, or set ${PYTHON_ENV} to its path.`,
          { cause: e },
        ),
      ),
    );
    child.on('exit', (code) =>
      finish(new MockError('ERR_MOCK_PTY', `The pty helper exited (code ${code}) before it was ready: ${err.trim()}`)),
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      if (err.length > 8192) err = err.slice(-8192);
      const nl = err.indexOf('\n');
      if (!done && nl >= 0) finish(undefined, new PtyRelay(owner, child, err.slice(0, nl).trim()));
    });
  });
}

/**
 * Creates the link; never replaces anything at `linkPath` (another mock may be serving it: taking
 * it over would leave that mock unreachable). A stale link is the caller's to remove.
 */
function placeLink(linkPath: string, target: string): void {
  try {
    symlinkSync(target, linkPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new MockError(
        'ERR_MOCK_LINK_EXISTS',
        `${linkPath} already exists (another mock may be serving it): remove it if it is stale, or choose another link path.`,
        { cause: e },
      );
    }
    if (code === 'ENOENT') {
      throw new MockError(
        'ERR_MOCK_LINK_DIR',
        `cannot create ${linkPath}: the directory ${dirname(linkPath)} does not exist; create it, or choose another link path.`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Whether `linkPath` is still the link this process made to `target` (nobody replaced it). */
function isOurLink(linkPath: string, target: string | undefined): boolean {
  if (target === undefined) return false;
  try {
    return readlinkSync(linkPath) === target;
  } catch {
    return false;
  }
}

/** Re-points our own link at a new slave after a replug; leaves a path someone else took alone. */
function movePlacedLink(linkPath: string, from: string | undefined, to: string): boolean {
  if (!isOurLink(linkPath, from)) return false;
  unlinkSync(linkPath);
  placeLink(linkPath, to);
  return true;
}

/**
 * Serve the mock on a pty. When the mock is unplugged the relay dies (the host's port sees a hang-up);
 * on replug a new relay starts and `linkPath` is pointed at the new slave, so the same path comes back.
 */
export async function servePty(
  owner: PortOwner & {
    on(ev: 'unplug' | 'replug', fn: () => void): unknown;
    off(ev: 'unplug' | 'replug', fn: () => void): unknown;
  },
  attach: (ep: PortEndpoint) => void,
  linkPath?: string,
): Promise<ServedPty> {
  let relay: PtyRelay | undefined = await startRelay(owner);
  /** What our link at `linkPath` points to: only that link is ours to move or remove. */
  let placed: string | undefined;
  if (linkPath) {
    try {
      placeLink(linkPath, relay.slave);
    } catch (e) {
      await relay.kill();
      throw e;
    }
    placed = relay.slave;
  }
  attach(relay);
  log('pty served at %s (%s)', linkPath ?? relay.slave, relay.slave);
  let closed = false;
  const onUnplug = (): void => {
    const r = relay;
    relay = undefined;
    void r?.kill();
  };
  const onReplug = (): void => {
    void startRelay(owner).then(
      (r) => {
        if (closed) {
          void r.kill();
          return;
        }
        relay = r;
        try {
          if (linkPath) {
            if (movePlacedLink(linkPath, placed, r.slave)) placed = r.slave;
            else log('%s is no longer our link: left as it is', linkPath);
          }
        } catch (e) {
          log('cannot re-point %s: %O', linkPath, e);
        }
        attach(r);
      },
      (e: unknown) => log('pty relay restart failed: %O', e),
    );
  };
  owner.on('unplug', onUnplug);
  owner.on('replug', onReplug);
  return {
    path: linkPath ?? relay.slave,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      owner.off('unplug', onUnplug);
      owner.off('replug', onReplug);
      const r = relay;
      relay = undefined;
      if (r) {
        owner.detach(r);
        await r.kill();
      }
      if (linkPath && isOurLink(linkPath, placed)) {
        try {
          unlinkSync(linkPath);
        } catch {
          // already gone
        }
      }
    },
  };
}
