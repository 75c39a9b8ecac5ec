/**
 * `air780 at`: an AT console. On a terminal: a prompt with history, URCs shown as they arrive,
 * Ctrl-C or Ctrl-D exits. From a pipe: one command a line, each response printed, exit 0 after the
 * last response at end of input.
 */
import readline from 'node:readline';
import { Air780Error } from '../../at/errors.js';
import type { ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, MODULE_FLAGS, type Command } from '../command.js';
import type { Io } from '../io.js';
import { openModule } from '../module.js';

export const command: Command = {
  spec: {
    name: 'at',
    summary: 'Interactive AT console: type a command, see its response and any URCs as they come.',
    flags: [...MODULE_FLAGS, ...GLOBAL_FLAGS],
    details: 'Reads commands line by line when stdin is a pipe, e.g.  printf "AT+CSQ\\nATI\\n" | air780 at --mock',
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const m = await openModule(args.flags, io);
    const interactive = process.stdin.isTTY === true;
    const rl = readline.createInterface({
      input: process.stdin,
      output: interactive ? process.stdout : undefined,
      terminal: interactive,
      historySize: 1000,
      prompt: 'AT> ',
    });
    const print = (text: string): void => {
      if (interactive) {
        // Clear the prompt line, print, then redraw the prompt with what was typed so far.
        readline.clearLine(process.stdout, 0);
        readline.cursorTo(process.stdout, 0);
        io.out(`${text}\n`);
        rl.prompt(true);
      } else io.out(`${text}\n`);
    };
    const onUnknown = (line: string): void => print(interactive ? `URC: ${line}` : line);
    let watched = m.modem.at;
    watched.on('unknown', onUnknown);
    // After a lost port is reopened the modem has a new AT channel: follow it.
    m.modem.on('online', () => {
      if (m.modem.at === watched) return;
      watched = m.modem.at;
      watched.on('unknown', onUnknown);
    });
    m.modem.on('recovering', (reason: string) => io.status(`[modem] recovering after ${reason}`));
    if (interactive) io.status('AT console: type a command (AT+CSQ, ATI, ...); Ctrl-C or Ctrl-D exits.');

    let closed = false;
    const finish = new Promise<void>((resolve) => {
      rl.on('close', () => {
        closed = true;
        resolve();
      });
      rl.on('SIGINT', () => rl.close());
    });
    // Commands run strictly one after another, in input order, even if lines arrive faster.
    let chain: Promise<void> = Promise.resolve();
    rl.on('line', (raw) => {
      const line = raw.trim();
      if (!line) {
        if (interactive) rl.prompt();
        return;
      }
      if (interactive && /^(exit|quit)$/i.test(line)) return rl.close();
      chain = chain.then(() => runOne(line));
    });
    const runOne = async (line: string): Promise<void> => {
      try {
        const res = await m.modem.at.send(line);
        for (const l of res.lines) print(l);
        if (res.data) print(`<${res.data.length} bytes: ${res.data.toString('hex')}>`);
        print(res.final);
      } catch (err) {
        if (err instanceof Air780Error && (err as { final?: unknown }).final !== undefined) {
          const e = err as Air780Error & { final: string; lines?: readonly string[] };
          for (const l of e.lines ?? []) print(l);
          print(e.final);
        } else {
          print(`(${err instanceof Error ? err.message : String(err)})`);
          if (err instanceof Air780Error && err.code === 'ERR_AT_CLOSED') rl.close();
        }
      }
      if (interactive && !closed) rl.prompt();
    };
    if (interactive) rl.prompt();
    await finish;
    await chain;
    await m.close();
    return 0;
  },
};
