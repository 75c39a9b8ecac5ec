/**
 * `air780 ports [--probe]`: the serial ports, Air780 modules (USB 19d1:0001) marked with the role
 * of each interface; `--probe` sends `AT` to each Air780 port and shows which ones answer,
 * `--probe-all` to every port.
 */
import { AtChannel } from '../../at/index.js';
import { listPorts, openSerialPort, type SerialPortInfo } from '../../modem/serial/index.js';
import { bool, num, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, type Command } from '../command.js';
import type { Io } from '../io.js';

export const command: Command = {
  spec: {
    name: 'ports',
    summary: 'List serial ports; Air780 modules (USB 19d1:0001) are marked. --probe shows which port answers AT.',
    flags: [
      {
        name: 'probe',
        type: 'boolean',
        description: 'send AT to each Air780 port (not its log port) and show which answer',
      },
      {
        name: 'probe-all',
        type: 'boolean',
        description: 'probe every serial port, not only Air780 ones (writes AT to other devices too)',
      },
      {
        name: 'baud',
        type: 'number',
        valueName: 'N',
        min: 300,
        max: 4_000_000,
        description: 'baud rate for --probe (default 115200)',
      },
      { name: 'json', type: 'boolean', description: 'print the list as JSON' },
      ...GLOBAL_FLAGS,
    ],
    details: [
      '--probe writes AT (and, after a silent try, AT+A780SYNC) to the Air780 ports only: USB 19d1:0001,',
      'not the log/DIAG interface. Other devices are left alone (an Arduino resets when its port opens,',
      'a GPS or console on /dev/ttyS0 would get the bytes); --probe-all probes them too.',
      'Ptys (e.g. from `air780 mock --link`) are never listed; pass them to --port directly.',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const ports = await listPorts();
    const all = bool(args.flags, 'probe-all');
    const probe = all || bool(args.flags, 'probe');
    const answers = new Map<string, string>();
    if (probe) {
      if (all)
        io.status('warning: --probe-all writes AT to every serial port, including devices that are not Air780 modules');
      for (const p of ports) {
        const skip = skipReason(p, all);
        if (skip) {
          answers.set(p.path, skip);
          continue;
        }
        io.status(`probing ${p.path}...`);
        answers.set(p.path, await probePort(p.path, num(args.flags, 'baud', 115200)));
      }
    }
    if (bool(args.flags, 'json')) {
      io.out(
        `${JSON.stringify(
          ports.map((p) => ({ ...p, ...(probe ? { probe: answers.get(p.path) } : {}) })),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    if (ports.length === 0) {
      io.out('no serial ports found\n');
      io.status(
        "hint: is the module plugged in? (lsusb should show 19d1:0001); ptys from 'air780 mock' are not listed",
      );
      return 0;
    }
    for (const p of ports) io.out(`${formatPort(p)}${probe ? `  ${answers.get(p.path)}` : ''}\n`);
    const air = ports.filter((p) => p.isAir780);
    if (air.length === 0) io.status('no Air780 (USB 19d1:0001) among them');
    return 0;
  },
};

/**
 * Why `p` is not probed, or undefined to probe it. The log port never is (it speaks a binary
 * protocol); other devices only with `all`.
 */
export function skipReason(p: SerialPortInfo, all: boolean): string | undefined {
  if (p.isAir780 && p.role === 'diag') return 'skipped (log/DIAG port)';
  if (!p.isAir780 && !all) return 'not probed (not an Air780; --probe-all probes it)';
  return undefined;
}

/** One line per port: path, ids, and the Air780 marking. */
export function formatPort(p: SerialPortInfo): string {
  const ids = p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : '-';
  const what = p.isAir780
    ? `Air780${p.interfaceNumber !== undefined ? ` interface ${p.interfaceNumber}` : ''}${p.role === 'at' ? ' (AT)' : p.role === 'diag' ? ' (log/DIAG, not AT)' : ''}`
    : [p.manufacturer, (p as { product?: string }).product].filter(Boolean).join(' ') || '';
  return `${p.isAir780 ? '*' : ' '} ${p.path.padEnd(16)} ${ids.padEnd(10)} ${what}`.trimEnd();
}

/** `AT` on the port: 'answers AT' or why not. Never throws. */
async function probePort(path: string, baudRate: number): Promise<string> {
  let port: Awaited<ReturnType<typeof openSerialPort>>;
  try {
    port = await openSerialPort({ path, baudRate, openTimeoutMs: 3000 });
  } catch (err) {
    return `cannot open: ${err instanceof Error ? err.message.split(';')[0] : String(err)}`;
  }
  port.on('error', () => {});
  const at = new AtChannel(port, { name: path });
  try {
    for (let i = 0; i < 3; i++) {
      try {
        await at.send('AT', { timeoutMs: 700 });
        return 'answers AT';
      } catch {
        // try again: the first AT may only train autobaud or meet boot garbage
      }
    }
    return 'no answer to AT';
  } finally {
    at.close();
    port.destroy();
  }
}
