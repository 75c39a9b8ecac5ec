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
    details: [
      'On a terminal: an AT> prompt; up/down arrows recall earlier commands; lines the module sends',
      'on its own (URCs) are shown as they arrive, prefixed "URC: " (one that arrives while a command',
      'runs is shown after that command\'s response). Ctrl-C, Ctrl-D or "exit" leaves (status 0).',
      '',
      'From a pipe: one command a line, run in order; the response lines, then any URCs, are printed',
      'on stdout; exits 0 after the last response, e.g.',
      '  printf "AT+CSQ\\nATI\\n" | air780 at --mock',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const interactive = process.stdin.isTTY === true;
    let rl: readline.Interface | undefined;
    let closed = false;
    // On a terminal, anything printed while the prompt is shown first clears the prompt line and
    // then redraws it with what was typed so far, so output never lands in the middle of typing.
    const aside = (write: () => void): void => {
      if (!interactive || !rl || closed) return write();
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
      write();
      rl.prompt(true);
    };
    // Bring-up progress after a recovery goes through the same path as everything else.
    const consoleIo: Io = { ...io, status: (line) => aside(() => io.status(line)), detail: (line) => aside(() => io.detail(line)) };
    const m = await openModule(args.flags, consoleIo);
    const lines = readline.createInterface({
      input: process.stdin,
      output: interactive ? process.stdout : undefined,
      terminal: interactive,
      historySize: 1000,
      prompt: 'AT> ',
    });
    rl = lines;
    const print = (text: string): void => aside(() => io.out(`${text}\n`));
    // A URC that arrives while a command runs is shown after that command's response: the
    // response is printed only once its promise settles, which can be after a URC that followed
    // the final result on the line, and a URC must never split a command from its answer.
    let running = false;
    const held: string[] = [];
    const onUnknown = (line: string): void => {
      const text = interactive ? `URC: ${line}` : line;
      if (running) held.push(text);
      else print(text);
    };
    let watched = m.modem.at;
    watched.on('unknown', onUnknown);
    // After a lost port is reopened the modem has a new AT channel: follow it.
    m.modem.on('online', () => {
      consoleIo.status('[modem] ready again');
      if (m.modem.at === watched) return;
      watched = m.modem.at;
      watched.on('unknown', onUnknown);
    });
    m.modem.on('recovering', (reason: string) => consoleIo.status(`[modem] recovering after ${reason}`));
    if (interactive) io.status('AT console: type a command (AT+CSQ, ATI, ...); Ctrl-C or Ctrl-D exits.');

    const finish = new Promise<void>((resolve) => {
      lines.on('close', () => {
        closed = true;
        resolve();
      });
      lines.on('SIGINT', () => lines.close());
    });
    // Commands run strictly one after another, in input order, even if lines arrive faster.
    let chain: Promise<void> = Promise.resolve();
    lines.on('line', (raw) => {
      const line = raw.trim();
      if (!line) {
        if (interactive) lines.prompt();
        return;
      }
      if (interactive && /^(exit|quit)$/i.test(line)) return lines.close();
      chain = chain.then(() => runOne(line));
    });
    const runOne = async (line: string): Promise<void> => {
      running = true;
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
          if (err instanceof Air780Error && err.code === 'ERR_AT_CLOSED') lines.close();
        }
      }
      running = false;
      for (const text of held.splice(0)) print(text);
      if (interactive && !closed) lines.prompt();
    };
    if (interactive) lines.prompt();
    await finish;
    await chain;
    await m.close();
    return 0;
  },
};
