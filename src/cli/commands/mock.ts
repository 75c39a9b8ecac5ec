/**
 * `air780 mock --link PATH`: the mock module on a pty, so any program can open PATH as a serial
 * port. Stdin lines are fault commands (MockModem.applyFault). Runs until SIGINT/SIGTERM or stdin
 * says `quit`, and removes PATH on exit if it is still the link it made. An existing PATH is
 * refused (another mock may be serving it) unless `--force` replaces a stale link.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import readline from 'node:readline';
import { MockModem, type MockQuirk, type MockTranscriptEntry } from '../../mock/index.js';
import { bool, list, num, str, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';

/** The quirks the mock models, with what each does (src/mock/options.ts, air780e-at.md §10–§11). */
export const QUIRKS = {
  'cgreg-for-cereg': 'AT+CEREG? answered with a +CGREG: prefix (780EPV V1004/V1011)',
  'connect-no-space': 'link URCs without the space: 0,CONNECT OK, 0,CLOSED, ...',
  'boot-garbage': 'bootloader text before RDY after a reboot',
  'urc-after-prompt': 'a URC (+NITZ) right after the > prompt of a send',
  'tls-close-ok': 'a TLS peer close arrives as an unsolicited <n>, CLOSE OK and discards unread data',
  'echo-after-reboot': 'echo comes back on after a reboot even if ATE0 was saved with AT&W',
} as const satisfies Record<MockQuirk, string>;

/** Compile-time check that every quirk the mock knows is listed above. */
type Unlisted = Exclude<MockQuirk, keyof typeof QUIRKS>;
const everyQuirkListed: [Unlisted] extends [never] ? true : never = true;
void everyQuirkListed;

/** The --quirk values, checked: an unknown name is a usage error listing the valid ones. */
function quirks(names: string[]): MockQuirk[] {
  for (const n of names) {
    if (!Object.hasOwn(QUIRKS, n)) {
      throw new UsageError(
        `unknown quirk '${n}'`,
        `valid quirks: ${Object.keys(QUIRKS).join(', ')} (see 'air780 mock --help')`,
      );
    }
  }
  return names as MockQuirk[];
}

export const command: Command = {
  spec: {
    name: 'mock',
    summary:
      'Run the mock Air780E on a pty at PATH until stopped (Ctrl-C or SIGTERM); PATH is removed on exit. Needs python3 (or $AIR780_PYTHON) for the pty.',
    flags: [
      { name: 'link', type: 'string', valueName: 'PATH', description: 'where to create the pty symlink (required)' },
      {
        name: 'baud',
        type: 'number',
        valueName: 'N',
        min: 0,
        max: 4_000_000,
        description: 'simulated line rate both ways; 0 = unthrottled (default 0)',
      },
      {
        name: 'latency',
        type: 'number',
        valueName: 'MS',
        min: 0,
        max: 60_000,
        description: 'module latency before each response (default 0)',
      },
      { name: 'quirk', type: 'list', valueName: 'NAME', description: 'firmware quirk to model (listed below)' },
      { name: 'verbose-traffic', short: 'v', type: 'boolean', description: 'show the AT traffic on stderr' },
      {
        name: 'force',
        type: 'boolean',
        description: 'replace a stale link at PATH (left by a mock that did not exit cleanly)',
      },
      ...GLOBAL_FLAGS,
    ],
    details: [
      'Fault commands on stdin, one a line:',
      '  reboot [cut] [MS] | pdp | close N | noise N | drop N | insert N | swallow | stall MS | unplug MS | quit',
      '  reboot cut: output stops at once, mid-block, as on a power loss;',
      '  drop N / insert N: N bytes lost or added inside the next received block',
      '',
      'Quirks (--quirk NAME, repeatable):',
      ...Object.entries(QUIRKS).map(([name, what]) => `  ${name.padEnd(20)}${what}`),
      '',
      'Ready line on stderr: "mock: ready on PATH".',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const chosen = quirks(list(args.flags, 'quirk'));
    const link = str(args.flags, 'link');
    if (!link) throw new UsageError('--link PATH is required', "e.g. 'air780 mock --link /tmp/air780'");
    claimLinkPath(link, bool(args.flags, 'force'));
    const mock = new MockModem({
      baudRate: num(args.flags, 'baud', 0),
      latencyMs: num(args.flags, 'latency', 0),
      quirks: chosen,
    });
    if (bool(args.flags, 'verbose-traffic')) showTraffic(mock, io);
    let pty: Awaited<ReturnType<MockModem['servePty']>>;
    try {
      pty = await mock.servePty(link);
    } catch (err) {
      await mock.close().catch(() => {});
      // Taken between our check and the link (another mock starting at the same moment).
      if ((err as { code?: unknown }).code === 'ERR_MOCK_LINK_EXISTS') throw linkExists(link);
      throw err;
    }
    io.status(`mock: ready on ${pty.path}`);

    let stopping: Promise<number> | undefined;
    const stop = (why: string): Promise<number> =>
      (stopping ??= (async () => {
        io.status(`mock: stopping (${why})`);
        await pty.close().catch(() => {});
        await mock.close().catch(() => {});
        return 0;
      })());

    return new Promise<number>((resolve) => {
      process.once('SIGINT', () => void stop('SIGINT').then(resolve));
      process.once('SIGTERM', () => void stop('SIGTERM').then(resolve));
      const rl = readline.createInterface({ input: process.stdin, terminal: false });
      rl.on('line', (line) => {
        const spec = line.trim();
        if (!spec) return;
        if (spec === 'quit' || spec === 'exit') return void stop('quit').then(resolve);
        try {
          mock.applyFault(spec);
          io.status(`mock: fault ${spec}`);
        } catch (err) {
          io.status(`mock: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      // stdin closing (e.g. `< /dev/null`) does not stop the mock: only a signal or `quit` does.
    });
  },
};

function linkExists(link: string): UsageError {
  return new UsageError(
    `${link} already exists`,
    'another mock may be running on it: choose another --link PATH, or add --force to replace a stale link',
  );
}

/**
 * Refuses a PATH that exists (a live mock's link must not be taken over), unless `force` and it is
 * a symlink (a stale one); refuses a PATH whose directory does not exist, naming it.
 */
function claimLinkPath(link: string, force: boolean): void {
  const dir = dirname(link);
  if (!existsSync(dir))
    throw new UsageError(
      `cannot create ${link}: the directory ${dir} does not exist`,
      `create it first (mkdir -p ${dir}), or choose another --link PATH`,
    );
  let isLink: boolean;
  try {
    isLink = lstatSync(link).isSymbolicLink();
  } catch {
    return; // nothing there
  }
  if (!force) throw linkExists(link);
  if (!isLink)
    throw new UsageError(
      `${link} exists and is not a symlink`,
      'choose another --link PATH (--force replaces only a stale link)',
    );
  unlinkSync(link);
}

/**
 * Prints the mock's transcript as it grows (commands in, bytes out). The mock has no traffic
 * event, so its bounded transcript is polled; entries dropped between polls are counted, not lost
 * silently.
 */
function showTraffic(mock: MockModem, io: Io): void {
  let last: MockTranscriptEntry | undefined;
  const timer = setInterval(() => {
    const entries = mock.transcript;
    let from = last ? entries.lastIndexOf(last) + 1 : 0;
    if (last && from === 0 && entries.length > 0)
      io.status('(some traffic was dropped from the transcript before it was shown)');
    for (; from < entries.length; from++) {
      const e = entries[from]!;
      const text = JSON.stringify(e.text).slice(1, -1);
      io.status(
        e.kind === 'command'
          ? `> ${text}`
          : `< ${text.length > 200 ? `${text.slice(0, 200)}… (${e.text.length} bytes)` : text}`,
      );
    }
    if (entries.length) last = entries[entries.length - 1];
  }, 50);
  timer.unref();
}
