#!/usr/bin/env node
/**
 * The `air780` command: dispatches to a subcommand, turns any failure into one line with a hint.
 */
import { readFileSync } from 'node:fs';
import createDebug from 'debug';
import { formatHelp, parseArgs } from './args.js';
import type { Command } from './command.js';
import { UsageError } from './errors.js';
import { processIo, redactTraces, reportError } from './io.js';

/** Subcommands, loaded on demand so that `--help` works even if a layer fails to load. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  ports: {
    summary: 'list serial ports, Air780 modules marked (--probe: which answers AT)',
    load: async () => (await import('./commands/ports.js')).command,
  },
  info: {
    summary: 'firmware, model, IMEI, ICCID, IMSI, signal, registration, operator, IP',
    load: async () => (await import('./commands/info.js')).command,
  },
  at: {
    summary: 'interactive AT console (reads commands from a pipe too)',
    load: async () => (await import('./commands/at.js')).command,
  },
  ws: {
    summary: 'a wscat over the module (--echo: echo client for Autobahn)',
    load: async () => (await import('./commands/ws.js')).command,
  },
  mock: {
    summary: 'run the mock module on a pty (a serial port any program can open)',
    load: async () => (await import('./commands/mock.js')).command,
  },
  serve: {
    summary: 'SOCKS5 + HTTP proxies over the module, for every program on this host',
    load: async () => (await import('./commands/serve.js')).command,
  },
  demo: {
    summary: 'the LuatOS websocket example end to end (mock + local echo server by default)',
    load: async () => (await import('./commands/demo.js')).command,
  },
  bench: {
    summary: 'run the benchmarks, write bench/results.{json,md,svg}',
    load: async () => (await import('./commands/bench.js')).command,
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function topHelp(): string {
  const lines = [
    'Usage: air780 <command> [options]',
    '',
    'Drive an Air780E 4G module over its serial AT port.',
    '',
    'Commands:',
  ];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)}${c.summary}`);
  lines.push(
    '',
    'Options:',
    '  --help, -h    help (also: air780 <command> --help)',
    '  --version     print the version',
    '  --verbose     error details and debug traces',
    '',
    'Commands that talk to a module take --port PATH [--baud N] [--rtscts], or --mock;',
    'with neither they use $AIR780_PORT or the first module found by USB id 19d1:0001.',
    'Results go to stdout, progress and errors to stderr.',
    'Exit status: 0 success, 1 failure (one line and a hint on stderr), 2 bad command line.',
    '',
    'Try without hardware:  air780 info --mock  ·  air780 at --mock  ·  air780 demo',
  );
  return `${lines.join('\n')}\n`;
}

/** Runs the command line; resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const io = processIo(verbose);
  redactTraces();
  if (verbose) createDebug.enable([process.env.DEBUG, 'air780:*'].filter(Boolean).join(','));
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      if (name === 'help' && rest[0] && COMMANDS[rest[0]]) {
        io.out(formatHelp((await COMMANDS[rest[0]]!.load()).spec));
        return 0;
      }
      io.out(topHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V') {
      io.out(`${version()}\n`);
      return 0;
    }
    const entry = COMMANDS[name];
    if (!entry) {
      const hint = name.startsWith('-')
        ? 'options go after the command'
        : `commands: ${Object.keys(COMMANDS).join(', ')}`;
      throw new UsageError(`unknown command '${name}'`, `${hint}; see 'air780 --help'`);
    }
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(formatHelp(command.spec));
      return 0;
    }
    const args = parseArgs(rest, command.spec);
    return await command.run(args, io);
  } catch (err) {
    return reportError(err, io);
  }
}

const status = await main(process.argv.slice(2));
// Exit explicitly: a serial port or socket left half-closed by a failure must not keep the
// process alive. The empty write's callback runs once stdout has taken everything before it.
process.stdout.write('', () => process.exit(status));
