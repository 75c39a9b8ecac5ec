import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** One direction of a {@link fullDuplexExchange}. */
export interface DirectionResult {
  sent: number;
  received: number;
  /** SHA-256 (hex) of what was sent and of what arrived, once all of it arrived. */
  sentSha256: string;
  receivedSha256: string | null;
}

/** Outcome of a {@link fullDuplexExchange}. */
export interface ExchangeResult {
  /** Every byte arrived, in order, both ways. */
  ok: boolean;
  /** No byte moved in either direction for `stallMs` before the exchange completed. */
  stalled: boolean;
  aToB: DirectionResult;
  bToA: DirectionResult;
  elapsedMs: number;
  /** A stream error or extra bytes, if any. */
  error?: string;
}

export interface ExchangeOptions {
  /** Bytes each way (default 10 MiB). */
  bytes?: number | undefined;
  /** Write size (default 64 KiB). */
  chunkSize?: number;
  /** Declare a stall after this long without a byte received either way (default 5000 ms). */
  stallMs?: number | undefined;
}

/**
 * Send `bytes` random bytes from `a` to `b` and as many from `b` to `a` at the same time, with
 * backpressure, and compare SHA-256 digests. Never rejects; never closes the streams.
 */
export function fullDuplexExchange(a: Duplex, b: Duplex, options: ExchangeOptions = {}): Promise<ExchangeResult> {
  const bytes = options.bytes ?? 10 * 1024 * 1024;
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const stallMs = options.stallMs ?? 5_000;
  const started = performance.now();
  return new Promise((resolve) => {
    const cleanups: Array<() => void> = [];
    let settled = false;
    let error: string | undefined;
    const finish = (stalled: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      for (const c of cleanups) c();
      const aToB = ab.result();
      const bToA = ba.result();
      const ok =
        !stalled && !error && aToB.sentSha256 === aToB.receivedSha256 && bToA.sentSha256 === bToA.receivedSha256;
      resolve({ ok, stalled, aToB, bToA, elapsedMs: performance.now() - started, ...(error ? { error } : {}) });
    };
    const direction = (from: Duplex, to: Duplex, name: string) => {
      const data = randomBytes(bytes);
      const sentSha256 = createHash('sha256').update(data).digest('hex');
      const hash = createHash('sha256');
      let received = 0;
      let receivedSha256: string | null = null;
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (received > bytes) {
          error ??= `${name}: received ${received} bytes, more than the ${bytes} sent`;
          finish(false);
          return;
        }
        hash.update(chunk);
        if (received === bytes) {
          receivedSha256 = hash.digest('hex');
          if (ab.done() && ba.done()) finish(false);
        }
      };
      const onError = (err: Error) => {
        error ??= `${name}: ${err.message}`;
        finish(false);
      };
      const onClose = () => {
        if (!settled) {
          error ??= `${name}: a stream closed mid-exchange`;
          finish(false);
        }
      };
      to.on('data', onData);
      from.on('error', onError);
      to.on('error', onError);
      from.on('close', onClose);
      to.on('close', onClose);
      cleanups.push(() => {
        to.off('data', onData);
        from.off('error', onError);
        to.off('error', onError);
        from.off('close', onClose);
        to.off('close', onClose);
        from.off('drain', writeMore);
      });
      let offset = 0;
      const writeMore = () => {
        while (offset < bytes && !settled) {
          const chunk = data.subarray(offset, Math.min(bytes, offset + chunkSize));
          offset += chunk.length;
          if (!from.write(chunk)) {
            from.once('drain', writeMore);
            return;
          }
        }
      };
      return {
        start: writeMore,
        progress: () => received,
        done: () => receivedSha256 !== null,
        result: (): DirectionResult => ({ sent: offset, received, sentSha256, receivedSha256 }),
      };
    };
    const ab = direction(a, b, 'a→b');
    const ba = direction(b, a, 'b→a');
    let last = -1;
    let lastChange = performance.now();
    const watchdog = setInterval(
      () => {
        const now = ab.progress() + ba.progress();
        if (now !== last) {
          last = now;
          lastChange = performance.now();
        } else if (performance.now() - lastChange >= stallMs) {
          finish(true);
        }
      },
      Math.min(250, stallMs),
    );
    ab.start();
    ba.start();
  });
}
