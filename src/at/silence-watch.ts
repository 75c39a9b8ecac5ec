/** The scanner's mid-block silence timer (see docs/layers.md, "How silence is measured"). */

/**
 * Watches for silence in the middle of a block. Silence is only counted while the host is seen
 * to be running: a tick that comes late means this process was not scheduled (a loaded machine,
 * a long synchronous task), and bytes that arrived meanwhile are still waiting in the kernel to be
 * read as one chunk. Such a tick restarts the count instead of ending it, so host delays never cut
 * a block; only a silence the host watched for the whole bound does.
 */
export class SilenceWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;
  private quietSince = 0;
  private lastTick = 0;

  constructor(
    private readonly boundMs: number,
    private readonly onSilence: () => void,
  ) {
    this.tickMs = Math.max(5, Math.floor(boundMs / 6));
  }

  /** Start counting from now, unless already counting (one watch serves every block of a scanner). */
  start(): void {
    if (this.timer) return;
    this.quietSince = this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  heard(): void {
    this.quietSince = performance.now();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    const late = now - this.lastTick > 2 * this.tickMs;
    this.lastTick = now;
    if (late) {
      this.quietSince = Math.max(this.quietSince, now);
      return;
    }
    if (now - this.quietSince >= this.boundMs) this.onSilence();
  }
}
