/**
 * `air780 at`: an AT console on a module that only has to answer AT (no SIM, registration or
 * bearer needed). On a terminal: a prompt with history, URCs shown as they arrive, Ctrl-C or
 * Ctrl-D exits. From a pipe: one command a line, each response printed, exit 0 after the last.
 */
import readline from 'node:readline';
import { num, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, PORT_FLAGS, type Command } from '../command.js';
import { AtConsole, type ConsoleOutput } from '../console.js';
import { printable } from '../format.js';
import type { Io } from '../io.js';
import { openAtSession } from '../module.js';

export const command: Command = {
  spec: {
    name: 'at',
    summary: 'Interactive AT console: type a command, see its response and any URCs as they come.',
    flags: [
      ...PORT_FLAGS,
      {
        name: 'linger',
        type: 'number',
        valueName: 'MS',
        min: 0,
        max: 600_000,
        description: 'from a pipe: after the last response, keep showing URCs this long before exiting (default 0)',
      },
      ...GLOBAL_FLAGS,
    ],
    details: [
      'Only AT is needed: the console opens right after the module answers AT (then ATE0, AT+CMEE=1),',
      'so it works with no SIM, a locked SIM or no coverage. Nothing else runs on the port: what you',
      'type goes to the module as is, and every line the module sends is shown as it arrives.',
      '',
      'On a terminal: an AT> prompt; up/down arrows recall earlier commands; lines the module sends',
      'on its own (URCs) are prefixed "URC: ". Ctrl-C, Ctrl-D or "exit" leaves (status 0).',
      '',
      'Sending data: after the module\'s "> " prompt the next line you type is the payload.',
      '  AT+CIPSEND=0,5 then hello   exactly the bytes typed, no CR/LF added; a shorter line leaves',
      '                              the prompt open for more, a longer one is cut at the length',
      '  AT+CIPSEND=0 then hello     variable length: the line is sent and ended with Ctrl-Z (0x1A)',
      '  a line holding only ESC (0x1B) cancels a variable-length send',
      'Input that ends inside a payload (end of a pipe, Ctrl-C, Ctrl-D): a variable-length send is',
      'cancelled (ESC); a fixed-length one cannot be (the module still waits for the missing bytes;',
      'from a pipe, status 1).',
      '',
      'From a pipe: one command a line, run in order, the next one once the previous has its final',
      'result; every line the module sends is printed on stdout as it arrives (bytes with no line end',
      'after 0.2 s of quiet, marked "<- partial line"); exits 0 after the last',
      'response (--linger MS to wait for URCs after it), e.g.',
      '  printf "AT+CSQ\\nATI\\n" | air780 at --mock',
      'Exit status 1 if the module does not answer AT, the port closes (the console then exits at',
      'once), or piped input ends inside a fixed-length payload.',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const interactive = process.stdin.isTTY === true;
    const s = await openAtSession(args.flags, io);
    // The link mode decides whether AT+CIPSEND=<a> announces a length or names a link.
    const mux = await s.at
      .send('AT+CIPMUX?')
      .then((r) => !r.lines.some((l) => /^\+CIPMUX: ?0$/.test(l)))
      .catch(() => true);
    // From here on the console owns the port: no channel, no driver.
    s.at.close();

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
    const show = (o: ConsoleOutput): void => {
      switch (o.kind) {
        case 'response':
          return aside(() => io.out(`${o.line}\n`));
        case 'urc':
          return aside(() => io.out(`${interactive ? 'URC: ' : ''}${o.line}\n`));
        case 'data':
          return aside(() => io.out(`${printable(o.data)}\n`));
        case 'partial':
          // Marked, so that it is not taken for a line the module ended.
          return aside(() => io.out(`${printable(o.data)}  <- partial line (no CR/LF yet)\n`));
        case 'prompt':
          if (interactive) {
            rl?.setPrompt(o.remaining === undefined ? '> ' : `> (${o.remaining} bytes) `);
            rl?.prompt();
          } else {
            io.out('> \n');
          }
          return;
        case 'note':
          return aside(() => io.status(`(${o.text})`));
      }
    };
    const con = new AtConsole(s.stream, { output: show, mux });
    let failed = false;

    const lines = readline.createInterface({
      input: process.stdin,
      output: interactive ? process.stdout : undefined,
      terminal: interactive,
      historySize: 1000,
      prompt: 'AT> ',
    });
    rl = lines;
    if (interactive) io.status('AT console: type a command (AT+CSQ, ATI, ...); Ctrl-C or Ctrl-D exits.');

    const finish = new Promise<void>((resolve) => {
      lines.on('close', () => {
        closed = true;
        resolve();
      });
      lines.on('SIGINT', () => lines.close());
    });
    lines.on('line', (line) => {
      if (interactive && !con.inPayload && /^\s*(exit|quit)\s*$/i.test(line)) return lines.close();
      con.submit(line);
      if (interactive) void con.idle().then(resetPrompt);
    });
    const resetPrompt = (): void => {
      if (closed || con.inPayload) return;
      lines.setPrompt('AT> ');
      lines.prompt();
    };
    if (interactive) lines.prompt();
    // A port that goes away (module unplugged or reset off the bus) ends the session: typed lines
    // would otherwise be dropped with nothing said, until the user gives up.
    void con.ended.then(() => lines.close());

    await finish;
    if (!interactive) await con.idle();
    if (con.inPayload) {
      // Leaving inside a variable-length send (Ctrl-C, Ctrl-D or end of input) must not leave the
      // module taking whatever comes next on the port, the next session's AT included, as payload.
      if (con.cancelPayload(interactive ? 'exit' : 'end of input')) await con.idle();
      else if (!interactive) failed = true;
    }
    if (!interactive) {
      await con.idle();
      const linger = num(args.flags, 'linger', 0);
      if (linger > 0 && !con.isClosed) await new Promise((r) => setTimeout(r, linger));
    }
    failed ||= con.isClosed;
    con.close();
    await s.close();
    return failed ? 1 : 0;
  },
};
