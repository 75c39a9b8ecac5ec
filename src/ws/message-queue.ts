import type { WsMessage } from './types.js';

// Messages waiting for a slow consumer are held in memory: past this many the socket is paused so
// the server (and the module's buffer behind it) takes the backpressure instead of our heap.
const MESSAGE_QUEUE_HIGH_WATER = 64;

/** One async iterator over a client's messages; pauses the input while its consumer lags. */
export class MessageQueue implements AsyncIterableIterator<WsMessage> {
  private items: WsMessage[] = [];
  private waiting: Array<(r: IteratorResult<WsMessage>) => void> = [];
  private ended = false;
  private paused = false;
  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
    private readonly detach: () => void,
  ) {}

  push(m: WsMessage): void {
    const w = this.waiting.shift();
    if (w) return w({ value: m, done: false });
    this.items.push(m);
    if (!this.paused && this.items.length > MESSAGE_QUEUE_HIGH_WATER) {
      this.paused = true;
      this.pause();
    }
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<WsMessage>> {
    const m = this.items.shift();
    if (m) {
      if (this.paused && this.items.length <= MESSAGE_QUEUE_HIGH_WATER / 2) {
        this.paused = false;
        this.resume();
      }
      return Promise.resolve({ value: m, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<WsMessage>> {
    this.ended = true;
    this.items = [];
    this.detach();
    if (this.paused) this.resume();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WsMessage> {
    return this;
  }
}

/**
 * Every live iterator of one client. Each message goes to all of them; any one lagging consumer
 * pauses the input (`pause`/`resume` act on the client's current stream).
 */
export class MessageQueues {
  private readonly queues = new Set<MessageQueue>();

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  /** A new iterator; `finished` (the client is closed for good) makes it end at once. */
  open(finished: boolean): MessageQueue {
    const q = new MessageQueue(this.pause, this.resume, () => this.queues.delete(q));
    if (finished) q.end();
    else this.queues.add(q);
    return q;
  }

  push(m: WsMessage): void {
    for (const q of this.queues) q.push(m);
  }

  /** Ends every iterator once its queued messages are consumed. */
  end(): void {
    for (const q of this.queues) q.end();
    this.queues.clear();
  }
}
