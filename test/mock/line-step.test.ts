import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LINE_STEP_MS, SerialLine } from '../../src/mock/line.js';
import { resolveOptions } from '../../src/mock/options.js';

// Virtual time: the line's steps and its token bucket both run on the faked clock, so these
// assertions are about how many bytes the model lets through, never about wall-clock speed.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function lineAt(
  baudRate: number,
  chunkMs = resolveOptions({ baudRate }).lineChunkMs,
): { line: SerialLine; got: Buffer[] } {
  const line = new SerialLine({ baudRate, chunkMs, chunkBytes: 4096, highWater: 1 << 20, lowWater: 1 << 19 });
  const got: Buffer[] = [];
  line.setSink((b) => {
    got.push(b);
    return true;
  });
  return { line, got };
}

const total = (got: Buffer[]) => got.reduce((n, b) => n + b.length, 0);

describe('mock serial line delivery step', () => {
  it('defaults to the 1 ms step of a USB frame / UART FIFO, not coarser', () => {
    expect(DEFAULT_LINE_STEP_MS).toBe(1);
    expect(resolveOptions({}).lineChunkMs).toBe(DEFAULT_LINE_STEP_MS);
    expect(resolveOptions({ lineChunkMs: 4 }).lineChunkMs).toBe(4);
  });

  it('hands a 22-byte final result over at 115200 within its wire time plus one step', () => {
    const { line, got } = lineAt(115200);
    const reply = Buffer.from('\r\nDATA ACCEPT:0,1460\r\n');
    line.write(reply);
    // 22 bytes take 1.91 ms on the wire: by 3 ms (wire time + one step) they are all there.
    vi.advanceTimersByTime(3);
    expect(Buffer.concat(got).equals(reply)).toBe(true);
    line.destroy();
  });

  it('delivers the first bytes of a burst after one step; a 4 ms step would still hold them', () => {
    const fine = lineAt(115200);
    const coarse = lineAt(115200, 4);
    const burst = Buffer.alloc(2000, 0x41);
    fine.line.write(burst);
    coarse.line.write(burst);
    vi.advanceTimersByTime(1);
    expect(total(fine.got)).toBeGreaterThan(0);
    expect(total(fine.got)).toBeLessThanOrEqual(12); // 1 ms of 115200 baud = 11.52 bytes
    expect(total(coarse.got)).toBe(0);
    fine.line.destroy();
    coarse.line.destroy();
  });

  it('keeps the long-run rate at baud/10 whatever the step', () => {
    for (const chunkMs of [1, 4]) {
      const { line, got } = lineAt(921600, chunkMs);
      line.write(Buffer.alloc(92_160 * 2));
      vi.advanceTimersByTime(1000);
      // One second of 921600 baud is 92 160 bytes (within a step of slack).
      expect(Math.abs(total(got) - 92_160)).toBeLessThanOrEqual(92.16 * chunkMs + 1);
      line.destroy();
    }
  });
});
