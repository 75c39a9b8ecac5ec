/**
 * The AT floor: the very byte exchange the driver performs for a transfer (`AT+CIPSEND` with its
 * prompt and `DATA ACCEPT`, `AT+CIPRXGET=2` reads, or `+RECEIVE` pushes), done with as little
 * JavaScript as possible straight on the tty: no AT channel, no modem, no websocket, no promises
 * in the loop. Its host CPU per MB is what this exchange costs on this machine before any library
 * code runs (system calls, wakeups between the module's answers, the event loop itself), and so
 * the yardstick for the whole path's CPU figure: the `ws` package over loopback TCP moves 16 KiB
 * per write and never waits for an answer, so it is no reachable target for a path that must wait
 * for the module's prompt and final result every 1460 bytes.
 */
import fs from 'node:fs';
import tty from 'node:tty';
import type net from 'node:net';
import type { DuplexOptions } from 'node:stream';
import type { Transfer } from './workloads.js';

const CHUNK = 1460;

export interface FloorOptions {
  /** The pty (or serial device) of a mock, free (no other opener). */
  path: string;
  /** A plain TCP peer (`startRawPeer` in server.ts): `sink` / `source <n>`. */
  peerPort: number;
  direction: 'up' | 'down';
  rxMode: 'push' | 'pull';
  bytes: number;
  timeoutMs: number;
}

/** A raw port with a text accumulator for the set-up phase. */
class RawPort {
  private readonly sock: tty.ReadStream;
  private text = '';
  private waiter: (() => void) | undefined;
  onBytes: ((b: Buffer) => void) | undefined;

  constructor(path: string) {
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    const opts: net.SocketConstructorOpts & DuplexOptions = { readableHighWaterMark: 64 * 1024 };
    this.sock = new tty.ReadStream(fd, opts);
    this.sock.on('error', () => undefined);
    this.sock.on('data', (b: Buffer) => {
      if (this.onBytes) return this.onBytes(b);
      this.text += b.toString('latin1');
      this.waiter?.();
    });
  }

  write(b: Buffer | string): void {
    this.sock.write(b);
  }

  /** Write a command line and wait (bounded) for `want` in the answer. */
  command(cmd: string, want: string | RegExp = /\r\n(OK|SHUT OK)\r\n/, timeoutMs = 10_000): Promise<void> {
    return this.exchange(`${cmd}\r`, want, timeoutMs);
  }

  /** Write exactly `bytes` and wait (bounded) for `want`; what follows the match stays held. */
  exchange(bytes: string, want: string | RegExp, timeoutMs = 10_000): Promise<void> {
    this.text = '';
    this.write(Buffer.from(bytes, 'latin1'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        reject(
          new Error(
            `AT floor: no ${String(want)} after ${JSON.stringify(bytes)} within ${timeoutMs} ms: ${JSON.stringify(this.text)}`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        const re = typeof want === 'string' ? new RegExp(want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : want;
        const m = re.exec(this.text);
        if (!m) return;
        clearTimeout(t);
        this.waiter = undefined;
        this.text = this.text.slice(m.index + m[0].length);
        resolve();
      };
      this.waiter = check;
      check();
    });
  }

  /** Hand over to `onBytes`, starting with what arrived after the last awaited answer. */
  takeOver(onBytes: (b: Buffer) => void): void {
    const early = Buffer.from(this.text, 'latin1');
    this.text = '';
    this.onBytes = onBytes;
    if (early.length > 0) onBytes(early);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Brings the mock's IP stack up on link 0 to the raw peer, with the driver's settings. */
async function setUp(port: RawPort, rxMode: 'push' | 'pull', peerPort: number, role: string): Promise<void> {
  // Whatever the previous opener left behind is answered before our AT's OK.
  await port.command('AT');
  await port.command('ATE0');
  await port.command('AT+CIPSHUT');
  await port.command('AT+CIPMUX=1');
  await port.command('AT+CIPQSEND=1');
  await port.command('AT+CIPRXF=1');
  await port.command(`AT+CIPRXGET=${rxMode === 'pull' ? 1 : 0}`);
  await port.command('AT+CSTT');
  await port.command('AT+CIICR');
  await port.command('AT+CIFSR', /\r\n\d+\.\d+\.\d+\.\d+\r\n/);
  await port.command(`AT+CIPSTART=0,"TCP","127.0.0.1",${peerPort}`, '0, CONNECT OK');
  const hello = `${role}\n`;
  await port.exchange(`AT+CIPSEND=0,${hello.length}\r\n`, '> ');
  await port.exchange(hello, /DATA ACCEPT:0,\d+\r\n/);
}

/**
 * Runs the bare exchange for `bytes` payload bytes and reports its host CPU like the other
 * workloads (the peer runs in the bench server's process, the mock in its own).
 */
export async function atFloor(o: FloorOptions): Promise<Transfer> {
  const port = new RawPort(o.path);
  try {
    await setUp(port, o.rxMode, o.peerPort, o.direction === 'up' ? 'sink' : `source ${o.bytes}`);
    const payload = Buffer.alloc(CHUNK, 0x5a);
    const cpu = process.cpuUsage();
    const start = performance.now();
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`AT floor ${o.direction} ${o.rxMode}: ${done} of ${o.bytes} bytes within ${o.timeoutMs} ms`),
          ),
        o.timeoutMs,
      );
      const finish = (): void => {
        clearTimeout(timer);
        resolve();
      };
      let held: Buffer = Buffer.alloc(0);
      const take = (b: Buffer): void => {
        held = held.length === 0 ? b : Buffer.concat([held, b]);
      };
      if (o.direction === 'up') {
        // AT+CIPSEND=0,<n>\r\n → "> " → n bytes → DATA ACCEPT:0,<n>; the next command after it.
        let awaitingPrompt = true;
        let len = 0;
        const next = (): void => {
          len = Math.min(CHUNK, o.bytes - done);
          awaitingPrompt = true;
          port.write(`AT+CIPSEND=0,${len}\r\n`);
        };
        port.takeOver((b) => {
          take(b);
          for (;;) {
            if (awaitingPrompt) {
              const k = held.indexOf('> ');
              if (k < 0) return;
              held = held.subarray(k + 2);
              awaitingPrompt = false;
              port.write(len === CHUNK ? payload : payload.subarray(0, len));
            } else {
              const k = held.indexOf('DATA ACCEPT:');
              const e = k < 0 ? -1 : held.indexOf('\r\n', k);
              if (e < 0) return;
              held = held.subarray(e + 2);
              done += len;
              if (done >= o.bytes) return finish();
              next();
            }
          }
        });
        next();
      } else if (o.rxMode === 'pull') {
        // AT+CIPRXGET=2,0,1460 → +CIPRXGET: 2,0,<n>,<left>\r\n <n bytes> \r\nOK\r\n; again after OK.
        let want = -1;
        const read = (): void => {
          want = -1;
          port.write(`AT+CIPRXGET=2,0,${CHUNK}\r`);
        };
        port.takeOver((b) => {
          take(b);
          for (;;) {
            if (want < 0) {
              const k = held.indexOf('+CIPRXGET: 2,0,');
              const e = k < 0 ? -1 : held.indexOf('\r\n', k);
              if (e < 0) {
                // Nothing held yet (a read before the data arrived answers an empty read or ERROR).
                if (/\r\n(OK|ERROR|\+CME ERROR: \d+)\r\n/.test(held.toString('latin1'))) {
                  held = Buffer.alloc(0);
                  setTimeout(read, 1);
                }
                return;
              }
              want = Number(held.toString('latin1', k + 15, e).split(',')[0]);
              held = held.subarray(e + 2);
            }
            const ok = held.indexOf('\r\nOK\r\n', want);
            if (held.length < want || ok < 0) return;
            done += want;
            held = held.subarray(ok + 6);
            if (done >= o.bytes) return finish();
            read();
          }
        });
        read();
      } else {
        // Push: \r\n+RECEIVE,0,<n>:\r\n <n bytes>, back to back; count the payload.
        let want = -1;
        port.takeOver((b) => {
          take(b);
          for (;;) {
            if (want < 0) {
              const k = held.indexOf('+RECEIVE,0,');
              const e = k < 0 ? -1 : held.indexOf(':\r\n', k);
              if (e < 0) return;
              want = Number(held.toString('latin1', k + 11, e));
              held = held.subarray(e + 3);
            }
            if (held.length < want) return;
            done += want;
            held = held.subarray(want);
            want = -1;
            if (done >= o.bytes) return finish();
          }
        });
      }
    });
    const seconds = (performance.now() - start) / 1000;
    const d = process.cpuUsage(cpu);
    return { bytes: done, seconds, cpuMs: (d.user + d.system) / 1000 };
  } finally {
    port.onBytes = undefined;
    await port.command('AT+CIPCLOSE=0', /CLOSE OK|ERROR/, 5000).catch(() => undefined);
    port.close();
  }
}
