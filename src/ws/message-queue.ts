import type { WsMessage } from './types.js';

/** Default of the `maxQueuedBytes` option: bytes of messages waiting for a `for await` loop. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

// What a queued message costs beyond its bytes (the message object, the string or Buffer object,
// the queue slot): counted so that millions of tiny messages cannot hide under the byte bound.
const MESSAGE_OVERHEAD = 128;

/** Bytes a received message is counted as in the queue. */
export function queuedSize(bytes: number): number {
  return bytes + MESSAGE_OVERHEAD;
}

interface Entry {
  message: WsMessage;
  size: number;
}

interface QueueOwner {
  /** The queue went over its bound (true) or back under half of it (false). */
  full(q: MessageQueue, isFull: boolean): void;
  /** For the early queue over its bound: true to drop its oldest messages instead of pausing. */
  shed(q: MessageQueue): boolean;
  detach(q: MessageQueue): void;
}

/**
 * One async iterator over a client's messages. Messages wait here while the loop body runs; past
 * `limitBytes` the owner pauses the input. A message is always taken, however large (maxPayload
 * bounds it), so the queue holds at most `limitBytes` plus one message.
 */
export class MessageQueue implements AsyncIterableIterator<WsMessage> {
  private items: Entry[] = [];
  private head = 0;
  private bytes = 0;
  private waiting: Array<(r: IteratorResult<WsMessage>) => void> = [];
  private ended = false;
  private isFull = false;
  /** Kept from 'open' on for a loop that has not started (see {@link MessageQueues}). */
  early = false;
  constructor(
    private readonly owner: QueueOwner,
    private readonly limitBytes: number,
  ) {}

  /** Bytes held (counted with {@link queuedSize}). */
  get queuedBytes(): number {
    return this.bytes;
  }

  get finished(): boolean {
    return this.ended;
  }

  push(message: WsMessage, size: number): void {
    if (this.ended) return;
    const w = this.waiting.shift();
    if (w) return w({ value: message, done: false });
    this.items.push({ message, size });
    this.bytes += size;
    if (this.bytes <= this.limitBytes) return;
    if (this.early && this.owner.shed(this)) this.shed();
    else if (!this.isFull) this.setFull(true);
  }

  /** Drops the oldest messages until the queue is within its bound; `unpause` clears its full state. */
  shed(unpause = false): void {
    while (this.bytes > this.limitBytes && this.take());
    if (unpause && this.isFull) this.setFull(false);
  }

  /** Ends the iterator once the messages it holds are consumed. */
  end(): void {
    this.ended = true;
    for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
  }

  /** Takes up again after {@link end} (the client was connected again before any loop began). */
  reopen(): void {
    this.ended = false;
  }

  next(): Promise<IteratorResult<WsMessage>> {
    const e = this.take();
    if (e) return Promise.resolve({ value: e.message, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<WsMessage>> {
    this.end();
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    if (this.isFull) this.setFull(false);
    this.owner.detach(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WsMessage> {
    return this;
  }

  private take(): Entry | undefined {
    if (this.head >= this.items.length) return undefined;
    const e = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as Entry;
    // Compact now and then rather than shift() each time: shift is O(n) on long queues.
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.bytes -= e.size;
    // Resume at half the bound, so a loop that keeps up does not pause and resume per message.
    if (this.isFull && this.bytes <= this.limitBytes / 2) this.setFull(false);
    return e;
  }

  private setFull(v: boolean): void {
    this.isFull = v;
    this.owner.full(this, v);
  }
}

export interface MessageQueuesOptions {
  /** Bound of each queue, in bytes (see {@link queuedSize}). */
  limitBytes: number;
  /** Stop reading: some queue is full. */
  pause(): void;
  /** Read again: no queue is full. */
  resume(): void;
  /** True when messages also reach 'message' listeners (they are not lost if the early queue sheds). */
  delivered(): boolean;
  /** Trace. */
  log(format: string, ...args: unknown[]): void;
}

/**
 * Every live iterator of one client, plus the early queue: messages kept from 'open' on until the
 * first loop starts, so `await ws.opened(); … for await (const m of ws)` misses nothing. Each
 * message goes to every queue; any full queue pauses the input. The early queue does not pause a
 * client that has 'message' listeners (which may never start a loop): when it is full, its oldest
 * messages, already delivered to those listeners, are dropped from it.
 */
export class MessageQueues implements QueueOwner {
  private readonly queues = new Set<MessageQueue>();
  private readonly fullOnes = new Set<MessageQueue>();
  private early: MessageQueue | null;
  private shedding = false;

  constructor(private readonly o: MessageQueuesOptions) {
    this.early = new MessageQueue(this, o.limitBytes);
    this.early.early = true;
    this.queues.add(this.early);
  }

  /** A new iterator; `finished` (the client is closed for good) makes it end after what it holds. */
  open(finished: boolean): MessageQueue {
    let q = this.early;
    this.early = null;
    if (q) {
      q.early = false;
      if (q.finished && !finished) {
        // Closed for good earlier, connected again since: the early queue goes on.
        q.reopen();
        this.queues.add(q);
      }
    } else {
      q = new MessageQueue(this, this.o.limitBytes);
      this.queues.add(q);
    }
    if (finished) this.finish(q);
    return q;
  }

  push(m: WsMessage, bytes: number): void {
    const size = queuedSize(bytes);
    for (const q of this.queues) q.push(m, size);
  }

  /** Ends every iterator once its queued messages are consumed (the client is closed for good). */
  end(): void {
    for (const q of this.queues) this.finish(q);
  }

  /** The client connects again after being closed for good: an early queue not yet taken goes on. */
  restart(): void {
    if (this.early?.finished) {
      this.early.reopen();
      this.queues.add(this.early);
    }
  }

  shed(q: MessageQueue): boolean {
    if (!this.o.delivered()) return false;
    if (!this.shedding)
      this.o.log(
        'no for-await loop has started: messages kept for one passed %d bytes, the oldest (already emitted as "message") are dropped from it',
        this.o.limitBytes,
      );
    this.shedding = true;
    return q === this.early;
  }

  /**
   * A 'message' listener is being added ('newListener' fires before it is): an early queue that
   * paused the input sheds and lets go, as it would have with the listener there.
   */
  listenerAdded(): void {
    const q = this.early;
    if (!q || !this.fullOnes.has(q)) return;
    this.o.log('a "message" listener was added: the messages kept for a loop no longer pause reading');
    this.shedding = true;
    q.shed(true);
  }

  full(q: MessageQueue, isFull: boolean): void {
    const wasPaused = this.fullOnes.size > 0;
    if (isFull) this.fullOnes.add(q);
    else this.fullOnes.delete(q);
    const paused = this.fullOnes.size > 0;
    if (paused && !wasPaused) this.o.pause();
    else if (!paused && wasPaused) this.o.resume();
  }

  detach(q: MessageQueue): void {
    this.queues.delete(q);
    this.full(q, false);
  }

  private finish(q: MessageQueue): void {
    q.end();
    this.queues.delete(q);
    // An ended queue no longer takes input: it must not keep the next connection paused.
    this.full(q, false);
  }
}
