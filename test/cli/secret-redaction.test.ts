/**
 * The APN password never reaches the user's screen through an error: the channel's errors quote
 * the command they were about (`AT+CSTT="apn","user","pw" failed: ...`), and the CLI prints them
 * (error line, --verbose stacks, debug traces that log an error's message).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Duplex } from 'node:stream';
import createDebug from 'debug';
import { AtChannel } from '../../src/at/index.js';
import { redactSecrets } from '../../src/cli/format.js';
import { processIo, redactTraces, reportError } from '../../src/cli/io.js';

const PASSWORD = 'Pw-s3cret!';
const CSTT = `AT+CSTT="corp.apn","alice","${PASSWORD}"`;

/** The error the channel gives for a refused AT+CSTT with a password (module answers +CME ERROR: 3). */
async function refusedCstt(): Promise<Error> {
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      cb();
      if (chunk.toString('latin1').startsWith('AT+CSTT')) setImmediate(() => stream.push('\r\n+CME ERROR: 3\r\n'));
    },
  });
  const at = new AtChannel(stream, { name: 'fake' });
  try {
    await at.send(CSTT);
    throw new Error('AT+CSTT was not refused');
  } catch (err) {
    return err as Error;
  } finally {
    at.close();
  }
}

function capture(verbose: boolean): { io: Parameters<typeof reportError>[1]; text: () => string } {
  const lines: string[] = [];
  return { io: { status: (l) => lines.push(l), detail: (l) => lines.push(l), verbose }, text: () => lines.join('\n') };
}

const originalLog = createDebug.log;
afterEach(() => {
  createDebug.log = originalLog;
  createDebug.disable();
  vi.restoreAllMocks();
});

describe('the APN password in errors and traces', () => {
  it('a refused AT+CSTT: the error line shows the command with the password masked, also with --verbose stacks', async () => {
    // The library masks it itself now; the CLI masks any error text too (an error from elsewhere
    // may quote the command raw).
    expect((await refusedCstt()).message).not.toContain(PASSWORD);
    const err = new Error(`${CSTT} failed: +CME ERROR 3 (operation not allowed).`);
    for (const verbose of [false, true]) {
      const c = capture(verbose);
      expect(reportError(err, c.io)).toBe(1);
      expect(c.text()).not.toContain(PASSWORD);
      expect(c.text()).toContain('air780: AT+CSTT="corp.apn","alice","***" failed: +CME ERROR 3');
    }
  });

  it('stderr status lines and debug traces are masked the same way', async () => {
    const err = new Error(`${CSTT} failed: +CME ERROR 3 (operation not allowed).`);
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    processIo(true).status(`recovery failed: ${err.message}`);
    redactTraces();
    createDebug.enable('air780:redaction-test');
    createDebug('air780:redaction-test')('recovery attempt %d failed: %s', 1, err.message);
    vi.restoreAllMocks();
    const text = written.join('');
    expect(text).toContain('recovery attempt 1 failed: AT+CSTT="corp.apn","alice","***"');
    expect(text).toContain('recovery failed: AT+CSTT="corp.apn","alice","***"');
    expect(text).not.toContain(PASSWORD);
  });

  it('redactSecrets: PINs and passwords of any secret-bearing command, anywhere in a line; other text as is', () => {
    expect(redactSecrets('AT+CPIN="1234" failed: +CME ERROR 16 (incorrect password).')).toBe(
      'AT+CPIN="***" failed: +CME ERROR 16 (incorrect password).',
    );
    expect(redactSecrets(`no final result for ${CSTT} within 60 s`)).toBe(
      'no final result for AT+CSTT="corp.apn","alice","***" within 60 s',
    );
    expect(redactSecrets('AT+CSQ failed: ERROR; AT+CIPSTART=0,"TCP","h",80')).toBe(
      'AT+CSQ failed: ERROR; AT+CIPSTART=0,"TCP","h",80',
    );
    expect(redactSecrets('connected to ws://h/p?token=abc')).toBe('connected to ws://h/p?token=***');
  });
});
