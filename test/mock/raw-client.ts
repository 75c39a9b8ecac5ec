import type { Duplex } from 'node:stream';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A test client that speaks bytes, not AT: write exactly, read exactly. It keeps everything the
 * module sent and a read position, so a test compares the next N bytes with what it expects.
 */
export class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private waiters: Array<() => void> = [];
  closed = false;
  error: Error | undefined;

  constructor(readonly stream: Duplex) {
    stream.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    stream.on('error', (e) => {
      this.error = e;
      this.wake();
    });
    stream.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.stream.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }

  /** Wait until `pred` holds over the unread bytes. */
  async waitFor(pred: (unread: Buffer) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.buf.subarray(this.pos))) {
      if (this.closed || this.error)
        throw new Error(`stream ended while waiting for ${what}; unread ${JSON.stringify(this.unread())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}; unread ${JSON.stringify(this.unread())}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Read exactly `n` bytes. */
  async read(n: number, timeoutMs?: number): Promise<Buffer> {
    await this.waitFor((u) => u.length >= n, `${n} bytes`, timeoutMs);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.compact();
    return Buffer.from(out);
  }

  /** The next bytes must be exactly `expected` (latin1). Returns them. */
  async expect(expected: string | Buffer, timeoutMs?: number): Promise<string> {
    const exp = typeof expected === 'string' ? Buffer.from(expected, 'latin1') : expected;
    await this.waitFor(
      (u) => u.length >= exp.length || !exp.subarray(0, u.length).equals(u),
      JSON.stringify(exp.toString('latin1')),
      timeoutMs,
    );
    const got = this.buf.subarray(this.pos, this.pos + exp.length);
    if (!got.equals(exp)) {
      throw new Error(`expected ${JSON.stringify(exp.toString('latin1'))}\n     got ${JSON.stringify(this.unread())}`);
    }
    this.pos += exp.length;
    this.compact();
    return exp.toString('latin1');
  }

  /** Read up to and including `marker`. */
  async readUntil(marker: string, timeoutMs?: number): Promise<string> {
    const m = Buffer.from(marker, 'latin1');
    await this.waitFor((u) => u.indexOf(m) >= 0, JSON.stringify(marker), timeoutMs);
    const i = this.buf.indexOf(m, this.pos);
    const out = this.buf.subarray(this.pos, i + m.length).toString('latin1');
    this.pos = i + m.length;
    this.compact();
    return out;
  }

  /** Send a command and expect exactly `reply` back. */
  async cmd(command: string | Buffer, reply: string, timeoutMs?: number): Promise<void> {
    await this.write(command);
    await this.expect(reply, timeoutMs);
  }

  unread(): string {
    return this.buf.subarray(this.pos).toString('latin1');
  }

  /** Nothing unread arrives within `ms` (used only for "the module stays silent" checks). */
  async expectSilence(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.buf.length > this.pos) throw new Error(`expected silence, got ${JSON.stringify(this.unread())}`);
  }

  private compact(): void {
    if (this.pos > 1 << 20) {
      this.buf = this.buf.subarray(this.pos);
      this.pos = 0;
    }
  }
}

/** A loopback server on 127.0.0.1 that hands each connection to `onSocket`; tracks sockets for peer-close tests. */
export async function startTrackedServer(
  onSocket: (s: net.Socket) => void,
): Promise<{ port: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A server that sends `greeting` to each client on connect, then echoes; tracks sockets for peer-close tests. */
export function startGreetingServer(greeting: string | Buffer): ReturnType<typeof startTrackedServer> {
  return startTrackedServer((s) => {
    s.write(greeting);
    s.pipe(s);
  });
}

/** Bring a multi-link bearer up with echo off; asserts every reply byte-exact. */
export async function bringUpMulti(
  c: RawClient,
  opts: { rxf?: number; qsend?: number; rxget?: number; echoOff?: boolean } = {},
): Promise<void> {
  if (!opts.echoOff) await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
  await c.cmd('AT+CIPSHUT\r', '\r\nSHUT OK\r\n');
  await c.cmd('AT+CIPMUX=1\r', '\r\nOK\r\n');
  await c.cmd(`AT+CIPRXF=${opts.rxf ?? 1}\r`, '\r\nOK\r\n');
  await c.cmd(`AT+CIPQSEND=${opts.qsend ?? 1}\r`, '\r\nOK\r\n');
  if (opts.rxget !== undefined) await c.cmd(`AT+CIPRXGET=${opts.rxget}\r`, '\r\nOK\r\n');
  await c.cmd('AT+CSTT\r', '\r\nOK\r\n');
  await c.cmd('AT+CIICR\r', '\r\nOK\r\n');
  await c.cmd('AT+CIFSR\r', '\r\n10.83.172.111\r\n');
}
