/**
 * `air780 demo`: the LuatOS websocket seed example end to end. Without hardware: the embedded mock,
 * a local LuatOS-protocol echo server, and one injected module reboot to show the reconnect.
 * With `--port` and `--url`: the same against a real module and server.
 */
import { websocket } from '../../ws/index.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, MODULE_FLAGS, type Command } from '../command.js';
import { startEchoServer, type EchoServer } from '../echo-server.js';
import { CliError, UsageError } from '../errors.js';
import { printable, redactUrl } from '../format.js';
import type { Io } from '../io.js';
import { openModule, type OpenedModule } from '../module.js';
import { plural } from '../plural.js';

export const command: Command = {
  spec: {
    name: 'demo',
    summary:
      'Run the LuatOS websocket example end to end (embedded mock + local echo server unless --port, $AIR780_PORT or --url name real hardware).',
    flags: [
      ...MODULE_FLAGS,
      {
        name: 'url',
        type: 'string',
        valueName: 'URL',
        description: 'websocket echo service (LuatOS protocol, e.g. ws://host/ws/echo); default: a local one',
      },
      {
        name: 'count',
        type: 'number',
        valueName: 'N',
        min: 1,
        max: 1_000_000,
        description: 'exit 0 after N echoes (default: run until Ctrl-C)',
      },
      {
        name: 'interval',
        type: 'number',
        valueName: 'MS',
        min: 50,
        max: 3_600_000,
        description: 'time between timestamp messages (default 5000)',
      },
      {
        name: 'reconnect',
        type: 'number',
        valueName: 'MS',
        min: 1000,
        max: 3_600_000,
        description: 'autoreconn delay (default 3000, LuatOS minimum 1000)',
      },
      {
        name: 'keepalive',
        type: 'number',
        valueName: 'S',
        min: 1,
        max: 65_535,
        description: 'websocket keepalive ping in seconds (default 60)',
      },
      { name: 'no-reboot', type: 'boolean', description: 'do not inject the module reboot (mock only)' },
      {
        name: 'timeout',
        type: 'number',
        valueName: 'S',
        min: 1,
        max: 86_400,
        description: 'give up (exit 1) if --count echoes have not arrived after S seconds (default 120)',
      },
      ...GLOBAL_FLAGS,
    ],
    details: [
      'Without --port, $AIR780_PORT or --url: the embedded mock and a local echo server.',
      'With --port PATH or $AIR780_PORT: that module, and --url is required (a module on the cellular',
      'network cannot reach a server on 127.0.0.1). --mock forces the mock even if AIR780_PORT is set.',
      'Events are printed as they happen: received messages on stdout, everything else on stderr.',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const f = args.flags;
    // A module named by --port or $AIR780_PORT is used; the embedded mock only when neither names
    // one (or with --mock). --url alone keeps meaning: a real module, found by discovery.
    const envPort = process.env.AIR780_PORT || undefined;
    const port = str(f, 'port') ?? envPort;
    const hardware = port !== undefined || str(f, 'url') !== undefined;
    const useMock = bool(f, 'mock') || !hardware;
    const count = num(f, 'count');
    const interval = num(f, 'interval', 5000);
    const reconnect = num(f, 'reconnect', 3000);
    const keepalive = num(f, 'keepalive', 60);
    const injectReboot = useMock && !bool(f, 'no-reboot');

    let echo: EchoServer | undefined;
    let url = str(f, 'url');
    if (!useMock && !url) {
      // The local echo server listens on 127.0.0.1, which a real module on the cellular network cannot reach.
      if (str(f, 'port') === undefined && envPort !== undefined) {
        throw new UsageError(
          `AIR780_PORT is set (${envPort}), so the demo runs on that module and needs a server it can reach: give --url`,
          'e.g. --url ws://your-server:8081/ws/echo (LuatOS tools/ws_echo_server.py); --mock (or unsetting AIR780_PORT) runs it on the embedded mock',
        );
      }
      throw new UsageError(
        'with --port, give --url too',
        'e.g. --url ws://your-server:8081/ws/echo (LuatOS tools/ws_echo_server.py), or use --mock',
      );
    }
    if (!url) {
      echo = await startEchoServer();
      url = `${echo.url}/ws/echo`;
      io.status(`local echo server (LuatOS protocol) on ${echo.url}`);
    }
    let m: OpenedModule | undefined;
    let timer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    try {
      m = await openModule(useMock ? { ...f, mock: true } : f, io);
      const modem = m.modem;
      const mock = m.mock;
      const deviceId = await modem
        .info()
        .then((i) => (i as { imei?: string }).imei ?? 'air780')
        .catch(() => 'air780');
      modem.on('state', (s: string) => io.status(`[modem] state ${s}`));
      modem.on('recovering', (reason: string) => io.status(`[modem] recovering after ${reason}`));

      const t0 = performance.now();
      const stamp = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
      let echoes = 0;
      let seq = 0;
      let rebooted = false;
      const rebootAt = count !== undefined ? Math.max(1, Math.floor(count / 2)) : 2;

      const wsc = websocket.create(modem, url, keepalive);
      if (!wsc)
        throw new CliError(
          'ERR_DEMO',
          `cannot create a websocket client for ${url}`,
          'check the URL (ws:// or wss://)',
        );
      wsc.autoreconn(true, reconnect);

      return await new Promise<number>((resolve, reject) => {
        const finish = (status: number) => {
          clearInterval(timer);
          clearTimeout(deadline);
          wsc.close();
          resolve(status);
        };
        if (count !== undefined) {
          const seconds = num(f, 'timeout', 120);
          deadline = setTimeout(
            () =>
              reject(
                new CliError(
                  'ERR_DEMO_TIMEOUT',
                  `only ${echoes} of ${plural(count, 'echo', 'echoes')} within ${seconds} s`,
                  'raise --timeout, or run with --verbose to see where it stalls',
                ),
              ),
            seconds * 1000,
          );
        }
        process.once('SIGINT', () => {
          io.status('stopping (Ctrl-C)');
          finish(0);
        });
        const sendStamp = () => {
          if (!wsc.ready()) return;
          const msg = JSON.stringify({ action: 'echo', device_id: deviceId, seq: ++seq, time: Date.now() });
          if (wsc.send(msg)) io.status(`${stamp()} send    ${msg}`);
        };
        wsc.on((_client, event, data, payload) => {
          const frame = payload && !(payload instanceof Error) ? payload : undefined;
          switch (event) {
            case 'conack': {
              io.status(`${stamp()} conack  connected to ${redactUrl(url)}`);
              const hello = JSON.stringify({ action: 'echo', device_id: deviceId });
              if (wsc.send(hello)) io.status(`${stamp()} send    ${hello}`);
              clearInterval(timer);
              timer = setInterval(sendStamp, interval);
              break;
            }
            case 'recv': {
              echoes++;
              const text = Buffer.isBuffer(data) ? printable(data) : String(data);
              let rtt = '';
              try {
                const t = (JSON.parse(text) as { time?: number }).time;
                if (typeof t === 'number') rtt = ` (round trip ${Date.now() - t} ms)`;
              } catch {
                // not JSON: print as is
              }
              io.out(
                `${stamp()} recv    #${echoes} ${text}${rtt}${frame && frame.fin === 0 ? ` [fin=0 opcode=${frame.opcode}]` : ''}\n`,
              );
              if (count !== undefined && echoes >= count) {
                io.status(`${stamp()} done    ${plural(echoes, 'echo', 'echoes')}`);
                finish(0);
                return;
              }
              if (injectReboot && !rebooted && echoes >= rebootAt && mock) {
                rebooted = true;
                io.status(`${stamp()} inject  module reboot (watch the reconnect)`);
                mock.reboot();
              }
              break;
            }
            case 'sent':
              io.detail(`${stamp()} sent`);
              break;
            case 'disconnect':
              clearInterval(timer);
              io.status(`${stamp()} disconnect (reconnecting in ${reconnect} ms)`);
              break;
            case 'error':
              io.status(`${stamp()} error   ${String(data)}${payload instanceof Error ? `: ${payload.message}` : ''}`);
              break;
            default:
              io.status(`${stamp()} ${event}`);
          }
        });
        io.status(`${stamp()} connect ${redactUrl(url!)}`);
        wsc.connect();
      });
    } finally {
      clearInterval(timer);
      clearTimeout(deadline);
      await m?.close();
      await echo?.close();
    }
  },
};
