import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, symlinkSync, unlinkSync } from 'node:fs';
import createDebug from 'debug';
import type { PortEndpoint, PortOwner } from './endpoint.js';
import { MockError } from './errors.js';
import { PTY_HELPER_SOURCE } from './pty-helper.js';

const log = createDebug('air780:mock:pty');
const PYTHON = '/usr/bin/python3';
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

function startRelay(owner: PortOwner): Promise<PtyRelay> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', PTY_HELPER_SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    let done = false;
    const timer = setTimeout(() => finish(new MockError('ERR_MOCK_PTY', `The pty helper (${PYTHON}) did not start within ${START_TIMEOUT_MS} ms.`)), START_TIMEOUT_MS);
    const finish = (e?: Error, relay?: PtyRelay): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        child.kill('SIGKILL');
        reject(e);
      } else resolve(relay!);
    };
    child.on('error', (e) => finish(new MockError('ERR_MOCK_PTY', `Cannot run ${PYTHON} for the pty helper: ${e.message}. Install python3.`, { cause: e })));
    child.on('exit', (code) => finish(new MockError('ERR_MOCK_PTY', `The pty helper exited (code ${code}) before it was ready: ${err.trim()}`)));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      if (err.length > 8192) err = err.slice(-8192);
      const nl = err.indexOf('\n');
      if (!done && nl >= 0) finish(undefined, new PtyRelay(owner, child, err.slice(0, nl).trim()));
    });
  });
}

function placeLink(linkPath: string, target: string): void {
  try {
    const st = lstatSync(linkPath);
    if (!st.isSymbolicLink()) {
      throw new MockError('ERR_MOCK_PTY', `${linkPath} exists and is not a symlink; choose another link path for the mock pty.`);
    }
    unlinkSync(linkPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  symlinkSync(target, linkPath);
}

/**
 * Serve the mock on a pty. When the mock is unplugged the relay dies (the host's port sees a hang-up);
 * on replug a new relay starts and `linkPath` is pointed at the new slave, so the same path comes back.
 */
export async function servePty(
  owner: PortOwner & { on(ev: 'unplug' | 'replug', fn: () => void): unknown; off(ev: 'unplug' | 'replug', fn: () => void): unknown },
  attach: (ep: PortEndpoint) => void,
  linkPath?: string,
): Promise<ServedPty> {
  let relay: PtyRelay | undefined = await startRelay(owner);
  if (linkPath) placeLink(linkPath, relay.slave);
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
          if (linkPath) placeLink(linkPath, r.slave);
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
      if (linkPath) {
        try {
          if (lstatSync(linkPath).isSymbolicLink()) unlinkSync(linkPath);
        } catch {
          // already gone
        }
      }
    },
  };
}
