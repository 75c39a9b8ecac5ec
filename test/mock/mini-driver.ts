/**
 * Just enough of a length-driven AT reader for bulk tests: lines, the `> ` prompt, `+RECEIVE`
 * payloads and `+CIPRXGET: 2` payloads. Not the driver: it exists so the mock can be tested alone.
 */
export class MiniReader {
  private buf: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private prompts = 0;
  private waiters: Array<() => void> = [];
  received = 0;

  constructor(
    stream: NodeJS.ReadableStream,
    private readonly onData: (link: number, data: Buffer) => void,
  ) {
    stream.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  private parse(): void {
    for (;;) {
      while (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) this.buf = this.buf.subarray(2);
      if (this.buf.length >= 2 && this.buf[0] === 0x3e && this.buf[1] === 0x20) {
        this.buf = this.buf.subarray(2);
        this.prompts++;
        continue;
      }
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buf.subarray(0, eol).toString('latin1');
      let m = /^\+RECEIVE,(\d+),(\d+):$/.exec(line);
      if (m) {
        const len = Number(m[2]);
        if (this.buf.length < eol + 2 + len) return;
        this.deliver(Number(m[1]), this.buf.subarray(eol + 2, eol + 2 + len));
        this.buf = this.buf.subarray(eol + 2 + len);
        continue;
      }
      m = /^\+CIPRXGET: 2,(\d+),(\d+),(\d+)$/.exec(line);
      if (m) {
        const len = Number(m[2]);
        const need = len > 0 ? len + 2 : 0;
        if (this.buf.length < eol + 2 + need) return;
        if (len > 0) this.deliver(Number(m[1]), this.buf.subarray(eol + 2, eol + 2 + len));
        this.buf = this.buf.subarray(eol + 2 + need);
        this.lines.push(line);
        continue;
      }
      this.lines.push(line);
      this.buf = this.buf.subarray(eol + 2);
    }
  }

  private deliver(link: number, data: Buffer): void {
    this.received += data.length;
    this.onData(link, Buffer.from(data));
  }

  private wait(timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`timeout waiting for ${what}; lines ${JSON.stringify(this.lines.slice(-5))}`)),
        timeoutMs,
      );
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Wait for a line matching `pred`; lines before it (URCs) are dropped. */
  async line(pred: (l: string) => boolean, timeoutMs = 20_000): Promise<string> {
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift()!;
        if (pred(l)) return l;
      }
      await this.wait(timeoutMs, 'a line');
    }
  }

  async prompt(timeoutMs = 20_000): Promise<void> {
    while (this.prompts === 0) await this.wait(timeoutMs, 'the prompt');
    this.prompts--;
  }

  async until(pred: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timeout in until()');
      await this.wait(left, 'data').catch(() => {});
    }
  }
}
