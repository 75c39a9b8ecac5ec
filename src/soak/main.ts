#!/usr/bin/env node
/**
 * `npm run soak -- [--duration S] [--seed N] [--baud B] [--latency MS] [--rx-mode push|pull] [--bound S] [--rss-limit MB] [--ci] [--json FILE]`
 * Runs the fault soak, prints every fault, the traffic and the grades; exit code 1 if a grade failed.
 */
import { writeFileSync } from 'node:fs';
import { formatReport } from './report.js';
import { runSoak, type SoakOptions } from './run.js';

const USAGE =
  "usage: npm run soak -- [--duration seconds (120)] [--seed N] [--baud 115200|0] [--latency ms (0)] [--rx-mode push|pull] [--bound seconds (30)] [--rss-limit MB (100)] [--ci] [--json file]\n  --ci: the CI test's short gaps and faults (replays a CI failure with its seed)";

function parse(argv: string[]): { opts: SoakOptions; json: string | undefined } {
  const opts: SoakOptions = {};
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value. ${USAGE}`);
      return v;
    };
    const num = (what: string): number => {
      const v = value();
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < 0)
        throw new Error(`Bad ${what} ${JSON.stringify(v)}: expected a non-negative number. ${USAGE}`);
      return n;
    };
    switch (flag) {
      case '--duration':
        opts.durationMs = num('duration') * 1000;
        break;
      case '--seed':
        opts.seed = num('seed');
        break;
      case '--baud':
        opts.baud = num('baud rate');
        break;
      case '--latency':
        opts.latencyMs = num('latency');
        break;
      case '--rx-mode': {
        const v = value();
        if (v !== 'push' && v !== 'pull') throw new Error(`Bad --rx-mode ${JSON.stringify(v)}: push or pull. ${USAGE}`);
        opts.rxMode = v;
        break;
      }
      case '--bound':
        opts.recoveryBoundMs = num('bound') * 1000;
        break;
      case '--rss-limit':
        opts.rssLimitMb = num('RSS limit');
        break;
      case '--ci':
        opts.preset = 'ci';
        break;
      case '--json':
        json = value();
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return process.exit(0);
      default:
        throw new Error(`Unknown option ${a}. ${USAGE}`);
    }
  }
  return { opts, json };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const report = await runSoak({ ...parsed.opts, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`${formatReport(report)}\n`);
  if (parsed.json) {
    writeFileSync(
      parsed.json,
      JSON.stringify(report, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2),
    );
  }
  process.exit(report.pass ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed to run: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(2);
});
