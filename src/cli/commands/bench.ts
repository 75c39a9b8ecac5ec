/** `air780 bench`: the benchmarks (results, not timed tests). */
import { resolve } from 'node:path';
import { BenchSelectionError, MEASUREMENTS, runBench } from '../../bench/run.js';
import { bool, str, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

export const command: Command = {
  spec: {
    name: 'bench',
    summary: 'Run the benchmarks on the mock (separate process, behind a pty) and write bench/results.{json,md,svg}.',
    flags: [
      { name: 'quick', type: 'boolean', description: 'short run (about half a minute)' },
      { name: 'out', type: 'string', valueName: 'DIR', description: 'where to write the results (default ./bench)' },
      {
        name: 'only',
        type: 'string',
        valueName: 'NAME',
        description: `only measurements whose name contains NAME (${MEASUREMENTS.join(', ')})`,
      },
      ...GLOBAL_FLAGS,
    ],
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const only = str(args.flags, 'only');
    try {
      await runBench({
        quick: bool(args.flags, 'quick'),
        outDir: resolve(str(args.flags, 'out') ?? 'bench'),
        log: (l) => io.status(l),
        ...(only !== undefined ? { only } : {}),
      });
    } catch (err) {
      if (err instanceof BenchSelectionError) throw new UsageError(err.message, 'air780 bench --help lists them');
      throw err;
    }
    return 0;
  },
};
