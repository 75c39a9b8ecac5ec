/** Test doubles for the AT layer: chunkers and a scripted fake module behind a Duplex. */
import { Duplex } from 'node:stream';
import { rng } from '../helpers/rng.js';

export type Chunker = (b: Buffer) => Buffer[];

export const whole: Chunker = (b) => (b.length ? [b] : []);
export const byteByByte: Chunker = (b) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));
export function randomChunks(seed: number, max = 12): Chunker {
  const r = rng(seed);
  return (b) => {
    const out: Buffer[] = [];
    let i = 0;
    while (i < b.length) {
      const n = 1 + Math.floor(r() * max);
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  };
}

/** The three chunkings every parser test runs under, plus a few random seeds. */
export const CHUNKINGS: Array<[string, () => Chunker]> = [
  ['all at once', () => whole],
  ['byte by byte', () => byteByByte],
  ['random chunks (seed 1)', () => randomChunks(1)],
  ['random chunks (seed 2)', () => randomChunks(2, 3)],
  ['random chunks (seed 3)', () => randomChunks(3, 200)],
];

export const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

/**
 * A fake module: the Duplex handed to the channel. Bytes the host writes are recorded; a
 * responder (script or function) answers them with module bytes, delivered in chunks.
 */
export class FakeModule {
  readonly stream: Duplex;
  /** Every byte the host wrote, in order. */
  written = Buffer.alloc(0);
  private inbox = Buffer.alloc(0);
  private script: Array<{ expect: Buffer; reply: Buffer }> = [];
  /** Called with the inbox on every write when no script step matches; return bytes consumed. */
  responder: ((inbox: Buffer, fake: FakeModule) => number) | undefined;
  chunker: Chunker;
  private pendingReplies = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(chunker: Chunker = whole) {
    this.chunker = chunker;
    this.stream = new Duplex({
      read() {},
      write: (chunk: Buffer, _enc, cb) => {
        this.written = Buffer.concat([this.written, chunk]);
        this.inbox = Buffer.concat([this.inbox, chunk]);
        this.process();
        cb();
      },
    });
  }

  /** Answer `expect` (exact bytes the host writes) with `reply`. Steps run in order. */
  on(expect: string | Buffer, reply: string | Buffer): this {
    this.script.push({ expect: b(expect), reply: b(reply) });
    return this;
  }

  /** Deliver module bytes (asynchronously, in chunks). */
  send(bytes: string | Buffer): void {
    const chunks = this.chunker(b(bytes));
    this.pendingReplies++;
    setImmediate(() => {
      for (const c of chunks) this.stream.push(c);
      this.pendingReplies--;
      if (this.pendingReplies === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  /** Resolves once every reply has been delivered (and a turn passed for the channel). */
  async idle(): Promise<void> {
    if (this.pendingReplies > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    await new Promise((r) => setImmediate(r));
  }

  /** Bytes written but not yet consumed by a script step or responder. */
  get unconsumed(): Buffer {
    return this.inbox;
  }

  get scriptLeft(): number {
    return this.script.length;
  }

  private process(): void {
    for (;;) {
      const step = this.script[0];
      if (
        step &&
        this.inbox.length >= step.expect.length &&
        this.inbox.subarray(0, step.expect.length).equals(step.expect)
      ) {
        this.inbox = this.inbox.subarray(step.expect.length);
        this.script.shift();
        this.send(step.reply);
        continue;
      }
      if (this.responder) {
        const n = this.responder(this.inbox, this);
        if (n > 0) {
          this.inbox = this.inbox.subarray(n);
          continue;
        }
      }
      return;
    }
  }
}

/** A responder answering each `\r`-terminated command via `answer(command)` (undefined = silence). */
export function lineResponder(answer: (command: string) => string | undefined) {
  return (inbox: Buffer, fake: FakeModule): number => {
    const i = inbox.indexOf(0x0d);
    if (i < 0) return 0;
    let n = i + 1;
    if (inbox[n] === 0x0a) n++;
    const reply = answer(inbox.toString('utf8', 0, i));
    if (reply !== undefined) fake.send(reply);
    return n;
  };
}
