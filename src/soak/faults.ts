/**
 * The seeded fault schedule. Every fault the mock can inject comes up once per round of eight,
 * in a random order; sometimes a second fault lands while the first is still being recovered.
 */
import type { MockModem } from '../mock/index.js';
import { Rng } from './rng.js';

/** `reboot` lets the module finish what it was writing; `cut-reboot` stops its output at once, mid-block (power loss). */
export type FaultKind = 'reboot' | 'cut-reboot' | 'pdp' | 'close' | 'noise' | 'swallow' | 'stall' | 'unplug';
export const FAULT_KINDS: readonly FaultKind[] = [
  'reboot',
  'cut-reboot',
  'pdp',
  'close',
  'noise',
  'swallow',
  'stall',
  'unplug',
];

/** Is this a module reboot (either kind)? The report lists their recovery times. */
export function isReboot(spec: string): boolean {
  return /^reboot\b/.test(spec);
}

/** One fault, fully decided by the seed (the link for `close` is picked among those open when it fires). */
export interface Fault {
  kind: FaultKind;
  /** reboot: delay before RDY; stall: duration; unplug: time until replug; noise: byte count. */
  ms?: number;
  noise?: Buffer;
  /** close: which of the open links, as a fraction of their count. */
  pick?: number;
  /** Delay after the previous fault of the same burst (0 for the first). */
  offsetMs: number;
}

/** Traffic-only time, then one or two faults. */
export interface FaultStep {
  gapMs: number;
  burst: Fault[];
}

export interface FaultPlanOptions {
  minGapMs: number;
  maxGapMs: number;
  /** Probability that a second fault follows during recovery. */
  burstChance: number;
  maxStallMs: number;
  maxUnplugMs: number;
  maxRebootDelayMs: number;
}

export const DEFAULT_PLAN: FaultPlanOptions = {
  minGapMs: 500,
  maxGapMs: 4000,
  burstChance: 0.2,
  maxStallMs: 4000,
  maxUnplugMs: 3000,
  maxRebootDelayMs: 1500,
};

/** An endless, reproducible sequence of fault steps. */
export class FaultPlan {
  private readonly rng: Rng;
  private bag: FaultKind[] = [];

  constructor(
    seed: number,
    private readonly opts: FaultPlanOptions = DEFAULT_PLAN,
  ) {
    this.rng = new Rng(seed, 0);
  }

  next(): FaultStep {
    const r = this.rng;
    const gapMs = r.int(this.opts.minGapMs, this.opts.maxGapMs);
    const burst = [this.fault(0)];
    if (r.chance(this.opts.burstChance)) burst.push(this.fault(r.int(50, 2000)));
    return { gapMs, burst };
  }

  private fault(offsetMs: number): Fault {
    const r = this.rng;
    if (this.bag.length === 0) this.bag = r.shuffle(FAULT_KINDS);
    const kind = this.bag.shift()!;
    switch (kind) {
      case 'reboot':
        return { kind, ms: r.int(0, this.opts.maxRebootDelayMs), offsetMs };
      case 'cut-reboot':
        // A module that lost power boots again after seconds, never within the scanner's mid-block
        // silence bound (300 ms at 115200): faster, its RDY would land inside the cut block, and the
        // restart would only be noticed by a command timeout (test/modem/block-cuts.test.ts covers it).
        return { kind, ms: r.int(Math.min(500, this.opts.maxRebootDelayMs), this.opts.maxRebootDelayMs), offsetMs };
      case 'stall':
        return { kind, ms: r.int(300, this.opts.maxStallMs), offsetMs };
      case 'unplug':
        return { kind, ms: r.int(50, this.opts.maxUnplugMs), offsetMs };
      case 'noise': {
        const n = r.int(1, 512);
        return { kind, ms: n, noise: r.bytes(n), offsetMs };
      }
      case 'close':
        return { kind, pick: r.next(), offsetMs };
      default:
        return { kind, offsetMs };
    }
  }
}

/** How long the fault itself lasts (a stall, the time unplugged, the reboot delay). */
export function activeMs(f: Fault): number {
  return f.kind === 'stall' || f.kind === 'unplug' || f.kind === 'reboot' || f.kind === 'cut-reboot' ? (f.ms ?? 0) : 0;
}

/**
 * Applies `f` to `mock`. Returns the fault as an `applyFault` line ("reboot 350", "reboot cut 800", "close 2", ...),
 * or a note when there was nothing to apply it to (no open link to close).
 */
export function inject(mock: MockModem, f: Fault): string {
  switch (f.kind) {
    case 'reboot':
      mock.reboot(f.ms === undefined ? {} : { delayMs: f.ms });
      return `reboot ${f.ms}`;
    case 'cut-reboot':
      mock.reboot(f.ms === undefined ? { cut: true } : { delayMs: f.ms, cut: true });
      return `reboot cut ${f.ms}`;
    case 'pdp':
      mock.deactivatePdp();
      return 'pdp';
    case 'close': {
      const open = [0, 1, 2, 3, 4, 5].filter((n) => mock.linkState(n) === 'CONNECTED');
      if (open.length === 0) return 'close (no open link)';
      const link = open[Math.min(open.length - 1, Math.floor((f.pick ?? 0) * open.length))]!;
      mock.closePeer(link);
      return `close ${link}`;
    }
    case 'noise':
      mock.injectNoise(f.noise ?? Buffer.alloc(0));
      return `noise ${f.noise?.length ?? 0}`;
    case 'swallow':
      mock.swallowNextFinal();
      return 'swallow';
    case 'stall':
      mock.stall(f.ms ?? 0);
      return `stall ${f.ms}`;
    case 'unplug':
      if (!mock.plugged) return 'unplug (already unplugged)';
      mock.unplug(f.ms === undefined ? {} : { replugAfterMs: f.ms });
      return `unplug ${f.ms}`;
  }
}
