import type { Rng } from './rng.js';

/** How much traffic each party generates. */
export interface TrafficShape {
  /** Largest message (bytes of payload). */
  maxMessage: number;
  /** Interval between send attempts, ms. */
  minIntervalMs: number;
  maxIntervalMs: number;
  /** A sender waits while this many of its messages are unacknowledged (or this many bytes are buffered). */
  window: number;
  windowBytes: number;
}

/** Unthrottled line: a few hundred messages per second in all, up to 200 kB each. */
export const FAST_TRAFFIC: TrafficShape = {
  maxMessage: 200_000,
  minIntervalMs: 5,
  maxIntervalMs: 60,
  window: 8,
  windowBytes: 256 * 1024,
};

/**
 * A line of `baud`. Messages stay under half a second of line time and each sender keeps at most
 * a quarter second buffered, so that command results are not queued behind seconds of data.
 */
export function trafficFor(baud: number): TrafficShape {
  if (baud <= 0) return FAST_TRAFFIC;
  const bytesPerSec = baud / 10;
  return {
    maxMessage: Math.max(512, Math.min(200_000, Math.floor(bytesPerSec / 2))),
    minIntervalMs: 50,
    maxIntervalMs: 600,
    window: 4,
    windowBytes: Math.max(2048, Math.floor(bytesPerSec / 4)),
  };
}

/** A payload size: mostly small, sometimes a few kB, rarely large (several module chunks). */
export function messageSize(rng: Rng, max: number): number {
  const r = rng.next();
  if (r < 0.5) return rng.int(0, Math.min(256, max));
  if (r < 0.85) return rng.int(0, Math.min(4096, max));
  if (r < 0.98) return rng.int(0, Math.min(32_768, max));
  return rng.int(0, max);
}
