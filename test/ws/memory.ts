/**
 * Memory measurement for the hostile-server tests: heap plus Buffer memory (`arrayBuffers`, where
 * received bytes live), sampled while the attack runs, and after a forced GC. The tests assert
 * generous bounds (the failures they guard against are hundreds of MB or more) and stop an attack
 * as soon as it passes `abortAboveBytes`, so a regression fails fast instead of exhausting the
 * shared machine.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Forces a full GC (turning --expose-gc on in this worker if it was not started with it). */
export function gc(): void {
  const g = globalThis as { gc?: () => void };
  if (!g.gc) {
    setFlagsFromString('--expose-gc');
    g.gc = runInNewContext('gc') as () => void;
  }
  g.gc!();
  g.gc!();
}

/** What the tests count: the JS heap and the memory of every ArrayBuffer (Buffers included). */
export function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export interface MemoryWatch {
  /** Largest growth over the baseline seen so far (bytes). */
  readonly peakGrowth: number;
  /** Largest RSS growth over the baseline seen so far (bytes; informational, noisier). */
  readonly peakRssGrowth: number;
  /** True once the growth passed `abortAboveBytes` (the `onAbort` callback ran). */
  readonly aborted: boolean;
  /** Stops sampling; returns the growth after a forced GC. */
  stop(): number;
}

/**
 * Takes a baseline after a forced GC, then samples every `everyMs`. Past `abortAboveBytes` of
 * growth, `onAbort` runs once (the test ends the attack there).
 */
export function watchMemory(options: { abortAboveBytes: number; onAbort: () => void; everyMs?: number }): MemoryWatch {
  gc();
  const base = used();
  const baseRss = process.memoryUsage().rss;
  let peak = 0;
  let peakRss = 0;
  let aborted = false;
  const sample = () => {
    const g = used() - base;
    peak = Math.max(peak, g);
    peakRss = Math.max(peakRss, process.memoryUsage().rss - baseRss);
    if (!aborted && g > options.abortAboveBytes) {
      aborted = true;
      options.onAbort();
    }
  };
  const timer = setInterval(sample, options.everyMs ?? 10);
  return {
    get peakGrowth() {
      return peak;
    },
    get peakRssGrowth() {
      return peakRss;
    },
    get aborted() {
      return aborted;
    },
    stop() {
      sample();
      clearInterval(timer);
      gc();
      return used() - base;
    },
  };
}

export const MB = 1024 * 1024;
