/**
 * Shared pieces of the fuzz suite: fixed seeds, chunking arbitraries and an allocation probe.
 * Every property runs with a fixed seed (named in its test title) so a failure replays exactly:
 * fast-check prints the seed and the counterexample path on failure.
 */
import fc from 'fast-check';

/**
 * fc.assert parameters for a property: fixed seed, bounded runs, no time-based interruption.
 * For exploration outside CI, `FUZZ_SEED_OFFSET=n` shifts every seed and `FUZZ_RUNS_FACTOR=k`
 * multiplies the runs (e.g. `FUZZ_SEED_OFFSET=1000 FUZZ_RUNS_FACTOR=10 npx vitest run test/fuzz`);
 * a failure prints the seed actually used, so it replays with that offset.
 */
export function params(seed: number, numRuns: number): fc.Parameters<unknown> {
  const offset = Number(process.env.FUZZ_SEED_OFFSET ?? 0) || 0;
  const factor = Number(process.env.FUZZ_RUNS_FACTOR ?? 1) || 1;
  return { seed: seed + offset, numRuns: Math.max(1, Math.round(numRuns * factor)), endOnFailure: true };
}

/** Cut `buf` at the given offsets (taken modulo its length + 1, deduplicated, sorted). */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let pos = 0;
  for (const p of [...pts, buf.length]) {
    if (p > pos) out.push(buf.subarray(pos, p));
    pos = p;
  }
  return out;
}

/** A chunking plan: all at once, byte by byte, or random cut points. */
export type Chunking = { kind: 'whole' } | { kind: 'bytes' } | { kind: 'cuts'; cuts: number[] };

export const chunkingArb: fc.Arbitrary<Chunking> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Chunking>({ kind: 'whole' }) },
  { weight: 1, arbitrary: fc.constant<Chunking>({ kind: 'bytes' }) },
  { weight: 4, arbitrary: fc.array(fc.nat(), { maxLength: 40 }).map<Chunking>((cuts) => ({ kind: 'cuts', cuts })) },
);

export function chunk(buf: Buffer, c: Chunking): Buffer[] {
  switch (c.kind) {
    case 'whole':
      return buf.length ? [buf] : [];
    case 'bytes':
      return Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
    case 'cuts':
      return splitAt(buf, c.cuts);
  }
}

/**
 * Records the largest single Buffer allocation made through the public Buffer factories while
 * `fn` runs (Buffer.alloc / allocUnsafe / allocUnsafeSlow / concat). Used to show that a hostile
 * length announcement is refused before memory is reserved for it.
 */
export function largestAllocation<T>(fn: () => T): { result: T; largest: number } {
  const B = Buffer as unknown as Record<string, (...args: unknown[]) => Buffer>;
  const names = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'] as const;
  const originals = names.map((n) => B[n]!);
  let largest = 0;
  names.forEach((n, i) => {
    const orig = originals[i]!;
    B[n] = function (this: unknown, ...args: unknown[]) {
      const out = orig.apply(Buffer, args);
      if (out.length > largest) largest = out.length;
      return out;
    };
  });
  try {
    return { result: fn(), largest };
  } finally {
    names.forEach((n, i) => {
      B[n] = originals[i]!;
    });
  }
}
