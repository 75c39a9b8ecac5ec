import { randomBytes } from 'node:crypto';
import type { BlockFault } from './block-fault.js';
import { MockError } from './errors.js';

/** The fault switches {@link applyFaultSpec} drives (a subset of MockModem's API). */
export interface FaultTarget {
  reboot(options?: { delayMs?: number; cut?: boolean }): void;
  corruptNextBlock(fault: BlockFault): void;
  deactivatePdp(): void;
  closePeer(link: number): void;
  injectNoise(bytes: Buffer): void;
  swallowNextFinal(): void;
  stall(ms: number): void;
  unplug(options?: { replugAfterMs?: number }): void;
  replug(): void;
}

const USAGE =
  'Fault lines: "reboot [cut] [delayMs]", "pdp", "drop <bytes>", "insert <bytes>", "close <link>", "noise <bytes>", "swallow", "stall <ms>", "unplug [replugAfterMs]", "replug".';

function num(word: string | undefined, what: string, max: number): number {
  if (word === undefined || !/^\d+$/.test(word) || Number(word) > max) {
    throw new MockError(
      'ERR_MOCK_FAULT_SPEC',
      `Bad ${what} ${JSON.stringify(word ?? '')}: expected an integer 0..${max}. ${USAGE}`,
    );
  }
  return Number(word);
}

/**
 * Parse fault lines (newline- or `;`-separated) and apply them in order. Every line is checked
 * before any is applied, so a typo never leaves half a scenario behind.
 */
export function applyFaultSpec(target: FaultTarget, spec: string): void {
  const actions: Array<() => void> = [];
  for (const raw of spec.split(/[\n;]/)) {
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0) continue;
    // "reboot cut [delayMs]": the output stops at once (power loss).
    const cut = words[0]!.toLowerCase() === 'reboot' && words[1]?.toLowerCase() === 'cut';
    if (cut) words.splice(1, 1);
    const [cmd, a, ...rest] = words;
    const opt = (what: string, max: number): number | undefined => (a === undefined ? undefined : num(a, what, max));
    if (rest.length > 0)
      throw new MockError(
        'ERR_MOCK_FAULT_SPEC',
        `Too many words in fault line ${JSON.stringify(raw.trim())}. ${USAGE}`,
      );
    switch (cmd!.toLowerCase()) {
      case 'reboot': {
        const delayMs = opt('reboot delay', 600_000);
        const o: { delayMs?: number; cut?: boolean } = delayMs === undefined ? {} : { delayMs };
        if (cut) o.cut = true;
        actions.push(() => target.reboot(o));
        break;
      }
      case 'drop': {
        const n = num(a, 'byte count', 1024);
        actions.push(() => target.corruptNextBlock({ drop: n }));
        break;
      }
      case 'insert': {
        const n = num(a, 'byte count', 1024);
        actions.push(() => target.corruptNextBlock({ insert: randomBytes(n) }));
        break;
      }
      case 'pdp':
        actions.push(() => target.deactivatePdp());
        break;
      case 'close': {
        const link = num(a, 'link id', 5);
        actions.push(() => target.closePeer(link));
        break;
      }
      case 'noise': {
        const n = num(a, 'noise length', 1 << 20);
        actions.push(() => target.injectNoise(randomBytes(n)));
        break;
      }
      case 'swallow':
        actions.push(() => target.swallowNextFinal());
        break;
      case 'stall': {
        const ms = num(a, 'stall time', 3_600_000);
        actions.push(() => target.stall(ms));
        break;
      }
      case 'unplug': {
        const after = opt('replug delay', 3_600_000);
        actions.push(() => target.unplug(after === undefined ? {} : { replugAfterMs: after }));
        break;
      }
      case 'replug':
        actions.push(() => target.replug());
        break;
      default:
        throw new MockError('ERR_MOCK_FAULT_SPEC', `Unknown fault ${JSON.stringify(cmd)}. ${USAGE}`);
    }
  }
  for (const act of actions) act();
}
