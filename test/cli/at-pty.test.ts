/**
 * `air780 at --mock` on a real terminal: prompt, history, URCs as they arrive, Ctrl-C.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, ROOT } from './build.js';
import { runInPty, type PtySession } from './pty.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

let session: PtySession | undefined;
afterEach(() => {
  session?.kill();
  session = undefined;
});

const count = (text: string, re: RegExp): number => text.match(new RegExp(re.source, 'gm'))?.length ?? 0;

/** The screen from the first occurrence of `marker` on (the marker is what was typed). */
const screenFrom = (text: string, marker: string, nth = 1): string => {
  let i = -1;
  for (let k = 0; k < nth; k++) i = text.indexOf(marker, i + 1);
  return i < 0 ? '' : text.slice(i);
};

describe('air780 at --mock on a terminal', () => {
  it('prompt, a command and its response, history recall, URCs while idle, Ctrl-C exits 0', async () => {
    session = runInPty(process.execPath, [MAIN, 'at', '--mock'], ROOT);
    const s = session;
    await s.waitFor(/Ctrl-C or Ctrl-D exits\.\nAT>$/, 'no prompt after bring-up');

    s.type('AT+CSQ\r');
    await s.waitFor((t) => /^\+CSQ: \d+,\d+\nOK\n/m.test(screenFrom(t, 'AT> AT+CSQ\n')), 'no +CSQ response and OK');
    // The module's answer is on the screen exactly once, and the prompt is back.
    expect(count(s.text, /^\+CSQ: 19,\d+$/)).toBe(1);
    await s.waitFor(/\+CSQ: 19,\d+\nOK\nAT>$/, 'no prompt after the response');

    // Up-arrow recalls the last command onto the prompt; Enter sends it again.
    const before = s.raw.length;
    s.type('\x1b[A');
    await s.waitFor(() => s.raw.slice(before).includes('AT> AT+CSQ'), 'up-arrow did not recall AT+CSQ');
    s.type('\r');
    await s.waitFor(
      (t) => count(t, /^\+CSQ: 19,\d+$/) === 2 && /^\+CSQ: \d+,\d+\nOK\n/m.test(screenFrom(t, 'AT+CSQ\n', 2)),
      'the recalled command was not answered',
    );

    // A URC that follows the command's final result on the line is shown after the response
    // (name resolution needs the bearer: the console brings nothing up by itself).
    for (const [c, answer] of [
      ['AT+CSTT', 'OK'],
      ['AT+CIICR', 'OK'],
      ['AT+CIFSR', '10.83.172.111'],
    ]) {
      s.type(`${c}\r`);
      await s.waitFor(
        (t) => screenFrom(t, `AT> ${c}\n`).startsWith(`AT> ${c}\n${answer}\nAT>`),
        `no ${answer} for ${c}`,
      );
    }
    s.type('AT+CDNSGIP="localhost"\r');
    await s.waitFor(/^URC: \+CDNSGIP: 1,"localhost","127\.0\.0\.1"$/m, 'no +CDNSGIP URC');
    expect(screenFrom(s.text, 'AT+CDNSGIP="localhost"\n')).toMatch(
      /^AT\+CDNSGIP="localhost"\nOK\nURC: \+CDNSGIP: 1,"localhost","127\.0\.0\.1"\n/,
    );

    // A module reboot: its boot URCs arrive while the console is idle and are shown as they come,
    // each on its own line with the prompt redrawn below; then the console still works.
    s.type('AT+RESET\r');
    await s.waitFor(/^URC: \+NITZ: [^\n]+$/m, 'no boot URCs after AT+RESET');
    for (const urc of ['^MODE: 17,17', '+E_UTRAN Service', '+CGEV: ME PDN ACT 1'])
      expect(s.text).toContain(`\nURC: ${urc}\n`);
    // Nothing but the console runs: the restart is shown, not handled.
    expect(s.text).toContain('\nURC: RDY\n');
    expect(s.text).not.toMatch(/\[modem\]/);
    await s.waitFor(/^URC: \+NITZ: [^\n]+\nAT>$/m, 'no prompt after the boot URCs');
    s.type('ATI\r');
    await s.waitFor(
      (t) => /^AirM2M_780E_V1171_LTE_AT\nOK\n/m.test(screenFrom(t, 'AT> ATI\n')),
      'no ATI answer after the reboot',
    );
    // Status lines never share a line with the prompt.
    expect(s.text).not.toMatch(/AT> .*\(\d+\.\d s\)/);

    s.type('\x03');
    const code = await Promise.race([
      s.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), 10_000)),
    ]);
    expect(code, s.text).toBe(0);
    expect(s.text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(s.text).not.toMatch(/Error|Unhandled|air780: /);
  }, 60_000);
});
