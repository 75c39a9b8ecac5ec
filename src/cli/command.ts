/** The shape of one `air780` subcommand, and the flags several of them share. */
import type { CommandSpec, FlagSpec, ParsedArgs } from './args.js';
import type { Io } from './io.js';

export interface Command {
  spec: CommandSpec;
  /** Resolves with the exit status. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** Accepted by every command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'verbose', type: 'boolean', description: 'more detail on errors and debug traces (DEBUG=air780:*)' },
  { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
];

/** Every command that talks to a module. */
export const MODULE_FLAGS: readonly FlagSpec[] = [
  {
    name: 'port',
    type: 'string',
    valueName: 'PATH',
    description: 'serial port of the module (default: $AIR780_PORT, else the first Air780 found by USB id 19d1:0001)',
  },
  {
    name: 'baud',
    type: 'number',
    valueName: 'N',
    min: 300,
    max: 4_000_000,
    description: 'serial baud rate (default 115200)',
  },
  { name: 'rtscts', type: 'boolean', description: 'RTS/CTS hardware flow control' },
  {
    name: 'mock',
    type: 'boolean',
    description: "use the embedded mock module (its sockets reach this machine's network)",
  },
  { name: 'apn', type: 'string', valueName: 'APN', description: "APN for the data bearer (default: the SIM's)" },
  { name: 'user', type: 'string', valueName: 'USER', description: 'user name for a private APN (with --apn)' },
  {
    name: 'password',
    type: 'string',
    valueName: 'PASS',
    description:
      'password for a private APN (with --apn); safer: $AIR780_APN_PASSWORD, as argv is visible to other local users. Never printed',
  },
  {
    name: 'rx',
    type: 'string',
    valueName: 'MODE',
    choices: ['push', 'pull'],
    description: 'socket receive mode: push (+RECEIVE) or pull (AT+CIPRXGET, end-to-end backpressure)',
  },
];

/** For commands that only talk AT (info, at): where the module is, without the bearer options. */
export const PORT_FLAGS: readonly FlagSpec[] = MODULE_FLAGS.filter(
  (f) => !['apn', 'user', 'password', 'rx'].includes(f.name),
);
