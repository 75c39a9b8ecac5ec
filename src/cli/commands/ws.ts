/**
 * `air780 ws <url>`: a wscat over the module. Interactive: each stdin line is sent as a message,
 * each message received is printed on stdout. `--echo`: every message goes straight back with its
 * type (text as text, binary as binary), as the Autobahn testsuite expects of a client; exits 0
 * when the server closes the connection. Status and events go to stderr.
 */
import { readFileSync } from 'node:fs';
import { WebSocketClient, openerConnect } from '../../ws/index.js';
import { bool, list, num, str, type ParsedArgs } from '../args.js';
import { readByteLines } from '../byte-lines.js';
import { GLOBAL_FLAGS, MODULE_FLAGS, type Command } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { printable, redactUrl, redactUrls, terminalText } from '../format.js';
import { cliWording, type Io } from '../io.js';
import { openModule } from '../module.js';

/** Bound on one stdin line (it is held whole before it is sent as one message). */
const MAX_BINARY_LINE = 16 * 1024 * 1024;

/** Decodes a text line; bytes that are not UTF-8 are refused, never replaced by U+FFFD. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export const command: Command = {
  spec: {
    name: 'ws',
    summary:
      'A websocket client over the module: stdin lines are sent, received messages printed (--echo: echo them back).',
    positionals: [{ name: 'url', required: true, description: 'ws:// or wss:// URL' }],
    flags: [
      { name: 'header', short: 'H', type: 'list', valueName: "'Name: value'", description: 'extra handshake header' },
      {
        name: 'keepalive',
        type: 'number',
        valueName: 'S',
        min: 0,
        max: 65_535,
        description: 'ping after S seconds without traffic; 0 = off (default 60)',
      },
      {
        name: 'tls',
        type: 'string',
        valueName: 'WHERE',
        choices: ['host', 'modem'],
        description: 'for wss: TLS on this machine (default) or in the module',
      },
      { name: 'ca', type: 'string', valueName: 'FILE', description: 'PEM CA file to verify the server against' },
      { name: 'insecure', type: 'boolean', description: 'do not verify the server certificate' },
      { name: 'no-deflate', type: 'boolean', description: 'do not offer permessage-deflate' },
      {
        name: 'binary',
        type: 'boolean',
        description:
          'send each stdin line (its exact bytes, up to LF) as a binary message; write received binary raw to stdout (escaped on a terminal)',
      },
      {
        name: 'linger',
        type: 'number',
        valueName: 'MS',
        min: 0,
        max: 600_000,
        description:
          'at end of input, close only once the server has been quiet this long (default 1000; 0 can cut off late answers)',
      },
      {
        name: 'echo',
        type: 'boolean',
        description: 'echo every message back with its type; exit 0 when the server closes',
      },
      {
        name: 'raw',
        type: 'boolean',
        description: 'write received text exactly as sent (control characters included) when stdout is not a terminal',
      },
      ...MODULE_FLAGS,
      ...GLOBAL_FLAGS,
    ],
    details: [
      'Received messages go to stdout (one a line; binary shown as printable text unless --binary),',
      'control characters escaped (\\x1b, \\r, …) so a server cannot drive the terminal; --raw (and',
      '--binary for binary) writes them unaltered when stdout is a file or a pipe, never to a terminal.',
      'connection status and errors to stderr. At end of input the connection is closed with 1000',
      'once the server is quiet (--linger); Ctrl-C closes it at once. Text lines that are not UTF-8',
      'are refused (one line on stderr; --binary sends bytes as they are). Exit status 0 after a',
      'clean close, 1 if the connection failed or closed uncleanly, 130 after Ctrl-C. E.g.',
      '  printf "hello\\n" | air780 ws --mock ws://127.0.0.1:9001/ws/echo2',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const f = args.flags;
    const url = args.positionals[0]!;
    if (!/^wss?:\/\//i.test(url))
      throw new UsageError(`'${url}' is not a ws:// or wss:// URL`, 'e.g. air780 ws ws://echo.example.com/ws');
    const headers = list(f, 'header').map(parseHeader);
    const caFile = str(f, 'ca');
    let ca: Buffer | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFileSync(caFile);
      } catch (err) {
        throw new CliError(
          'ERR_CA_FILE',
          `cannot read --ca ${caFile}: ${(err as Error).message}`,
          'give the path of a PEM file',
        );
      }
    }
    const tlsMode = (str(f, 'tls') ?? 'host') as 'host' | 'modem';
    const insecure = bool(f, 'insecure');
    const echo = bool(f, 'echo');
    const binary = bool(f, 'binary');
    // A server's text must not drive the terminal (title, clipboard, a fake prompt): unaltered
    // bytes only into a file or a pipe, and only when asked for.
    const tty = process.stdout.isTTY === true;
    const raw = bool(f, 'raw') && !tty;

    // The client is built before the module is opened: a bad header or URL on the command line
    // is a usage error at once, not after a bring-up that can take a minute on a real module.
    let m: Awaited<ReturnType<typeof openModule>> | undefined;
    const tlsOptions = { mode: tlsMode, rejectUnauthorized: !insecure, ...(ca ? { ca } : {}) };
    let client: WebSocketClient;
    try {
      client = new WebSocketClient(url, {
        headers,
        perMessageDeflate: !bool(f, 'no-deflate'),
        keepaliveMs: num(f, 'keepalive', 60) * 1000,
        connect: (target) => openerConnect(m!.modem, tlsOptions)(target),
        autoConnect: false,
        trace: io.verbose,
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_WS_BAD_HEADER')
        throw new UsageError((err as Error).message, "e.g. -H 'Authorization: Bearer x'");
      if (code === 'ERR_WS_URL') {
        // The message quotes the URL as typed; one with a space is not found whole by redactUrls.
        const message = (err as Error).message.split(url).join(redactUrl(url));
        throw new UsageError(redactUrls(message), 'e.g. air780 ws ws://echo.example.com/ws');
      }
      throw err;
    }

    if (bool(f, 'raw') && tty)
      io.status('warning: --raw ignored: stdout is a terminal, so control characters are shown escaped');
    if (insecure)
      io.status(
        `warning: --insecure: the server's certificate is not verified; anyone on the path can read and change this connection`,
      );
    m = await openModule(f, io);
    m.modem.on('recovering', (reason: string) => io.status(`[modem] recovering after ${reason}`));
    let opened = false;
    let lastError: Error | undefined;
    client.on('error', (err) => {
      lastError = err;
      // Before the connection opens, the error is what the command fails with: said once, below.
      if (opened) io.status(`error: ${cliWording(redactUrls(err.message))}`);
    });
    client.on('open', () => {
      opened = true;
      io.status(
        `connected to ${redactUrl(client.url)}${client.extensions ? ` (${client.extensions})` : ''}${echo ? ', echoing' : ''}`,
      );
    });
    client.on('message', (data, isBinary) => {
      if (echo) {
        client.send(data, { binary: isBinary }, () => {});
        return;
      }
      if (isBinary && binary && !tty) io.out(data as unknown as string);
      else {
        const text = typeof data === 'string' ? data : printable(data);
        io.out(`${raw ? text : terminalText(text)}\n`);
      }
    });
    client.on('ping', () => io.detail('ping'));
    client.on('pong', () => io.detail('pong'));

    const closed = client.closed();
    client.connect();

    let stopInput: (() => void) | undefined;
    let lastActivity = performance.now();
    client.on('message', () => (lastActivity = performance.now()));
    if (!echo) {
      await client.opened().catch(() => {});
      if (client.state === 'open') {
        let pending = 0;
        const sendLine = (line: string | Buffer): void => {
          if (client.state !== 'open') return;
          pending++;
          client.send(line, { binary }, (err) => {
            pending--;
            lastActivity = performance.now();
            if (err) io.status(`send failed: ${err.message}`);
          });
        };
        // End of input: once everything was sent and the server has been quiet for --linger ms
        // (its answers to the last lines are still on their way), close cleanly.
        const linger = num(f, 'linger', 1000);
        const onInputEnd = (): void => {
          const check = setInterval(
            () => {
              if (client.state !== 'open') return clearInterval(check);
              if (pending === 0 && performance.now() - lastActivity >= linger) {
                clearInterval(check);
                client.close(1000);
              }
            },
            Math.min(50, linger || 50),
          );
        };
        // The exact bytes of each line: readline would decode them as UTF-8 (invalid bytes becoming
        // U+FFFD, silently sent as text) and split at a lone CR.
        let lineNo = 0;
        const textLine = (bytes: Buffer): void => {
          lineNo++;
          const body = bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes; // CRLF input
          let text: string;
          try {
            text = strictUtf8.decode(body);
          } catch {
            return io.status(`input line ${lineNo} not sent: it is not UTF-8 text (--binary sends bytes as they are)`);
          }
          sendLine(text);
        };
        stopInput = readByteLines(process.stdin, MAX_BINARY_LINE, {
          line: binary ? sendLine : textLine,
          overflow: (n) => io.status(`input line of ${n} bytes not sent: lines are at most ${MAX_BINARY_LINE} bytes`),
          end: onInputEnd,
        });
      }
    }
    // Ctrl-C closes cleanly, then exits 130 like any interrupted command (and as `npx` reports it
    // whatever we return), so a script can tell an interruption from a finished exchange.
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
      io.status('closing (Ctrl-C)');
      if (client.state === 'open') client.close(1000);
      else client.terminate();
    };
    process.once('SIGINT', onSigint);
    const { code, reason, wasClean } = await closed;
    process.off('SIGINT', onSigint);
    stopInput?.();
    io.status(`closed: ${code}${reason ? ` ${reason}` : ''}${wasClean ? '' : ' (not clean)'}`);
    await m.close();
    if (interrupted) return 130;
    if (!opened) {
      if (lastError) {
        // The error's own message may quote the URL with its query (a token): redacted like the status lines.
        lastError.message = redactUrls(lastError.message);
        const hint = certificateHint(lastError);
        if (hint)
          throw new CliError((lastError as { code?: string }).code ?? 'ERR_WS_CONNECT', lastError.message, hint, {
            cause: lastError,
          });
        throw lastError;
      }
      throw new CliError(
        'ERR_WS_CONNECT',
        `could not connect to ${redactUrl(url)}`,
        'check the URL, and that the server is reachable from the module',
      );
    }
    return echo || wasClean ? 0 : 1;
  },
};

function parseHeader(text: string): [string, string] {
  const i = text.indexOf(':');
  const name = i > 0 ? text.slice(0, i).trim() : '';
  // A malformed header is shown only up to its first space: `-H 'Authorization Bearer T0K'`
  // (colon forgotten) must not print the token on a terminal or into a CI log.
  if (name === '' || /\s/.test(name)) {
    const first = text.trim().split(/\s/, 1)[0]!;
    const shown = first.length > 40 ? `${first.slice(0, 40)}…` : first;
    const rest = shown.length < text.trim().length ? ' …' : '';
    throw new UsageError(
      `header '${JSON.stringify(shown).slice(1, -1)}${rest}' is not 'Name: value' (one word, then a colon)`,
      "e.g. -H 'Authorization: Bearer x'",
    );
  }
  return [name, text.slice(i + 1).trim()];
}

/** OpenSSL/Node codes of a server certificate that did not verify (chain, dates, host name). */
const CERT_CODES =
  /^(UNABLE_TO_(GET_ISSUER_CERT(_LOCALLY)?|VERIFY_LEAF_SIGNATURE|DECRYPT_CERT_SIGNATURE)|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/;

/** The way out of a certificate that did not verify, in flags; undefined for any other failure. */
function certificateHint(err: Error): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !CERT_CODES.test(code)) continue;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
      return 'the certificate is not for this host name: use a name it carries in the URL, or --insecure to connect without verification (testing only)';
    }
    return "pass --ca FILE (the CA that signed the server's certificate), or --insecure to connect without verification (testing only)";
  }
  return undefined;
}
