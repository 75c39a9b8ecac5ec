/**
 * One-shot faults of single commands, for tests of the host's races: a command refused with a
 * given final, a `> ` prompt shown late, a send the module accepts only in part. Each is armed for
 * the next matching command and used up by it.
 */
export class CommandFaults {
  private readonly refusals: Array<{ prefix: string; final: string }> = [];
  private readonly promptDelays: number[] = [];
  private readonly partialAccepts: number[] = [];

  /** The next command line starting with `prefix` (case-insensitive) is answered `final` and not run. */
  refuse(prefix: string, final: string): void {
    this.refusals.push({ prefix: prefix.toUpperCase(), final });
  }

  /** The final to answer `line` with instead of running it, if a refusal is armed for it. */
  takeRefusal(line: string): string | undefined {
    const upper = line.toUpperCase();
    const i = this.refusals.findIndex((r) => upper.startsWith(r.prefix));
    if (i < 0) return undefined;
    return this.refusals.splice(i, 1)[0]!.final;
  }

  /** The next send shows its `> ` prompt `ms` later than it would (bytes that arrive meanwhile are buffered). */
  delayPrompt(ms: number): void {
    this.promptDelays.push(ms);
  }

  takePromptDelay(): number {
    return this.promptDelays.shift() ?? 0;
  }

  /** The next send takes its whole payload off the line but accepts (and sends) only its first `bytes`. */
  acceptPartially(bytes: number): void {
    this.partialAccepts.push(bytes);
  }

  takePartialAccept(): number | undefined {
    return this.partialAccepts.shift();
  }

  clear(): void {
    this.refusals.length = 0;
    this.promptDelays.length = 0;
    this.partialAccepts.length = 0;
  }
}
