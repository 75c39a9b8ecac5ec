/**
 * `air780 serve`: SOCKS5 and HTTP proxies over the links of one or more modules, so every program
 * on the host (curl, git, pip, browsers…) can use the module's sockets without root or routes.
 * Runs until SIGINT/SIGTERM.
 */
import { isIPv4 } from 'node:net';
import readline from 'node:readline';
import { discoverPorts } from '../../modem/index.js';
import type { MockModem, MockResolver } from '../../mock/index.js';
import { isLoopback, parseStatusAddress, startModemStatus, type StatusServer } from '../../observe/index.js';
import {
  openAccessLog,
  parseCredentials,
  startProxies,
  type Credentials,
  type Listen,
  type PoolModule,
  type RunningProxies,
} from '../../serve/index.js';
import { bool, list, num, str, type FlagValues, type ParsedArgs } from '../args.js';
import { GLOBAL_FLAGS, MODULE_FLAGS, type Command } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { openModule, type OpenedModule } from '../module.js';

/**
 * A listen address already taken (another `air780 serve`, or anything else) is a one-line error that
 * names the flag to change; Node's bare `listen EADDRINUSE` does not say which of three it was.
 */
function addressInUse(err: unknown, flag: (port: number) => string): unknown {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code !== 'EADDRINUSE') return err;
  const where = `${e.address ?? '?'}:${e.port ?? '?'}`;
  const name = flag(e.port ?? -1);
  return new CliError(
    'ERR_ADDRESS_IN_USE',
    `${where} (--${name}) is already in use`,
    `another air780 serve may be running there; choose another address with --${name} HOST:PORT, or --${name} off`,
    { cause: err },
  );
}

/** Where the proxy password can come from instead of argv (which `ps` shows to every local user). */
export const AUTH_ENV = 'AIR780_PROXY_AUTH';

/**
 * Test-only: `AIR780_MOCK_HOSTS` holds a JSON object of host name → IPv4 address that the embedded
 * mock modules resolve (besides `localhost` and IPv4 literals; nothing else resolves, and the
 * host's resolver is never asked), so a test can use a name only the module knows.
 */
export const MOCK_HOSTS_ENV = 'AIR780_MOCK_HOSTS';

const DEFAULT_SOCKS = '127.0.0.1:1080';
const DEFAULT_HTTP = '127.0.0.1:3128';
const DEFAULT_STATUS = '127.0.0.1:9780';
/** Modules `--mock N` may start. */
const MAX_MOCKS = 8;
/** After a signal, give up waiting for tunnels and modules and exit anyway. */
const STOP_DEADLINE_MS = 4500;

/** `HOST:PORT`, `[V6]:PORT`, `PORT` (parsed as the status server parses its address), or `off`. */
export function parseListen(flag: string, value: string): Listen | undefined {
  if (value === 'off') return undefined;
  try {
    return parseStatusAddress(value);
  } catch {
    throw new UsageError(
      `air780 serve: --${flag} needs HOST:PORT or off, got '${value}'`,
      `e.g. --${flag} ${flag === 'socks' ? DEFAULT_SOCKS : flag === 'status' ? DEFAULT_STATUS : DEFAULT_HTTP}`,
    );
  }
}

function mockResolver(): MockResolver | undefined {
  const raw = process.env[MOCK_HOSTS_ENV];
  if (!raw) return undefined;
  let hosts: Record<string, unknown>;
  try {
    hosts = JSON.parse(raw) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(
      `${MOCK_HOSTS_ENV} is not JSON: ${(err as Error).message}`,
      `e.g. ${MOCK_HOSTS_ENV}='{"only.mock.test":"127.0.0.1"}'`,
    );
  }
  return (host) => {
    const ip = Object.hasOwn(hosts, host) ? hosts[host] : undefined;
    if (typeof ip === 'string') return ip;
    if (host.toLowerCase() === 'localhost') return '127.0.0.1';
    return isIPv4(host) ? host : undefined;
  };
}

/** How many mocks `--mock [N]` asks for (0 without --mock). */
function mockCount(args: ParsedArgs): number {
  const [n] = args.positionals;
  if (!bool(args.flags, 'mock')) {
    if (n !== undefined)
      throw new UsageError(`air780 serve: unexpected argument '${n}'`, 'a count goes after --mock: --mock 2');
    return 0;
  }
  if (n === undefined) return 1;
  if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > MAX_MOCKS)
    throw new UsageError(`air780 serve: --mock takes a count 1–${MAX_MOCKS}, got '${n}'`, 'e.g. --mock 2');
  return Number(n);
}

/** The modules to serve: N mocks, each --port, $AIR780_PORT, or every Air780 discovery finds. */
async function openModules(args: ParsedArgs, io: Io): Promise<Array<OpenedModule & { name: string }>> {
  const f: FlagValues = { ...args.flags, rx: str(args.flags, 'rx') ?? 'pull' };
  const opened: Array<OpenedModule & { name: string }> = [];
  try {
    const mocks = mockCount(args);
    if (mocks > 0) {
      const resolve = mockResolver();
      for (let i = 0; i < mocks; i++)
        opened.push({
          ...(await openModule({ ...f, mock: true }, io, resolve ? { mock: { resolve } } : {})),
          name: `mock${i}`,
        });
      return opened;
    }
    let ports = list(f, 'port');
    if (ports.length === 0 && !process.env.AIR780_PORT) {
      // Every module that answers AT, one port per module (a module has several ACM ports).
      const seen = new Set<string>();
      ports = (await discoverPorts())
        .filter((p) => p.answersAt && !seen.has(p.serialNumber ?? p.path) && seen.add(p.serialNumber ?? p.path))
        .map((p) => p.path);
    }
    if (ports.length === 0)
      opened.push({ ...(await openModule({ ...f, port: undefined }, io)), name: process.env.AIR780_PORT ?? 'module0' });
    for (const port of ports) opened.push({ ...(await openModule({ ...f, port }, io)), name: port });
    return opened;
  } catch (err) {
    await Promise.all(opened.map((m) => m.close()));
    throw err;
  }
}

/** The proxies' credentials, and the same `USER:PASS` text for the status page's HTTP Basic. */
function credentials(flags: FlagValues): { parsed: Credentials; text: string } | undefined {
  const fromFlag = str(flags, 'auth');
  const raw = fromFlag ?? (process.env[AUTH_ENV] || undefined);
  if (raw === undefined) return undefined;
  const c = parseCredentials(raw);
  if (!c)
    throw new UsageError(
      `air780 serve: ${fromFlag !== undefined ? '--auth' : `$${AUTH_ENV}`} needs USER:PASS (each 1–255 bytes)`,
      `e.g. ${AUTH_ENV}=me:long-random-password air780 serve`,
    );
  return { parsed: c, text: raw };
}

export const command: Command = {
  spec: {
    name: 'serve',
    summary:
      'Share the module with every program on this host: a SOCKS5 proxy and an HTTP proxy over its links, without root or route changes.',
    flags: [
      ...MODULE_FLAGS.map((flag) =>
        flag.name === 'port'
          ? {
              ...flag,
              type: 'list' as const,
              description:
                'serial port of a module; repeat for several (default: $AIR780_PORT, else every Air780 found)',
            }
          : flag,
      ).map((flag) =>
        flag.name === 'mock'
          ? {
              ...flag,
              description:
                "use embedded mock modules: --mock (one) or --mock N (their sockets reach this machine's network)",
            }
          : flag.name === 'rx'
            ? {
                ...flag,
                description: 'socket receive mode (default pull: backpressure from each client to the module)',
              }
            : flag,
      ),
      {
        name: 'socks',
        type: 'string',
        valueName: 'HOST:PORT',
        description: `SOCKS5 listen address, or off (default ${DEFAULT_SOCKS})`,
      },
      {
        name: 'http-proxy',
        type: 'string',
        valueName: 'HOST:PORT',
        description: `HTTP proxy listen address, or off (default ${DEFAULT_HTTP})`,
      },
      {
        name: 'auth',
        type: 'string',
        valueName: 'USER:PASS',
        description: `require these credentials (SOCKS5 user/pass, HTTP Proxy-Authorization, Basic on the status page); safer: $${AUTH_ENV}. Needed to listen beyond loopback`,
      },
      {
        name: 'status',
        type: 'string',
        valueName: 'HOST:PORT',
        description: `status page (/), /status.json, /events and Prometheus /metrics for every module, or off (default ${DEFAULT_STATUS})`,
      },
      {
        name: 'max-queue',
        type: 'number',
        valueName: 'N',
        min: 0,
        max: 100_000,
        description: 'connections allowed to wait for a module link (default 64)',
      },
      {
        name: 'queue-timeout',
        type: 'number',
        valueName: 'S',
        min: 1,
        max: 3600,
        description: "longest wait for a link before the protocol's error (default 30)",
      },
      {
        name: 'idle-timeout',
        type: 'number',
        valueName: 'S',
        min: 0,
        max: 86_400,
        description: 'close tunnels idle this long; 0 never (default 300)',
      },
      {
        name: 'log',
        type: 'string',
        valueName: 'FILE',
        description: 'append one JSON line per closed tunnel (no payload, no credentials)',
      },
      ...GLOBAL_FLAGS,
    ],
    positionals: [{ name: 'N', required: false, description: 'with --mock: how many mock modules (1–8)' }],
    details: [
      'Then: curl --socks5-hostname 127.0.0.1:1080 https://example.com, or ALL_PROXY=socks5h://127.0.0.1:1080,',
      'or curl -x http://127.0.0.1:3128 ... Names are resolved by the module, never by this host.',
      'New connections go to the online module with the most free links (6 each); when all are busy',
      'they wait in order (--max-queue, --queue-timeout). A recovering module takes none until it is back.',
      'Listening beyond loopback (proxies or --status) needs --auth: an open proxy on a SIM costs money and',
      'invites abuse, and the status page shows where the links go. With --auth the status page asks for it too.',
      'With --mock, stdin lines inject faults: "reboot" (module 0) or "1 reboot" (module 1); see air780 mock.',
      'Ready line on stderr: "serve: ready socks=HOST:PORT http=HOST:PORT status=HOST:PORT modules=N".',
      'Ctrl-C or SIGTERM stops.',
    ].join('\n'),
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const f = args.flags;
    const socks = parseListen('socks', str(f, 'socks') ?? DEFAULT_SOCKS);
    const http = parseListen('http-proxy', str(f, 'http-proxy') ?? DEFAULT_HTTP);
    if (!socks && !http)
      throw new UsageError('air780 serve: both proxies are off', 'leave one of --socks / --http-proxy on');
    const status = parseListen('status', str(f, 'status') ?? DEFAULT_STATUS);
    const creds = credentials(f);
    const auth = creds?.parsed;
    const exposed = [socks, http, status].filter((l): l is Listen => l !== undefined && !isLoopback(l.host));
    if (exposed.length > 0 && !auth) {
      throw new UsageError(
        `air780 serve: listening on ${exposed.map((l) => l.host).join(', ')} (beyond this machine) needs credentials`,
        `set ${AUTH_ENV}=user:long-random-password (or --auth), or listen on 127.0.0.1: an open proxy on a SIM costs money and invites abuse`,
      );
    }
    mockCount(args);
    const modules = await openModules(args, io);
    const names = modules.map((m) => m.name);
    const pool: PoolModule[] = modules.map((m, i) => ({ name: names[i]!, modem: m.modem }));
    modules.forEach((m, i) => {
      m.modem.on('recovering', (reason: string) =>
        io.status(`serve: module ${names[i]} recovering (${reason}); the others carry on`),
      );
      m.modem.on('online', () => io.status(`serve: module ${names[i]} online`));
    });
    const logPath = str(f, 'log');
    let proxies: RunningProxies;
    try {
      proxies = await startProxies({
        modules: pool,
        ...(socks ? { socks } : {}),
        ...(http ? { http } : {}),
        ...(auth ? { auth } : {}),
        maxQueue: num(f, 'max-queue', 64),
        queueTimeoutMs: num(f, 'queue-timeout', 30) * 1000,
        idleTimeoutMs: num(f, 'idle-timeout', 300) * 1000,
        ...(logPath
          ? {
              log: openAccessLog(logPath, (err) =>
                io.status(`serve: --log ${logPath}: ${err.message}; logging stopped`),
              ),
            }
          : {}),
      });
    } catch (err) {
      await Promise.all(modules.map((m) => m.close()));
      throw addressInUse(err, (port) => (socks && port === socks.port ? 'socks' : 'http-proxy'));
    }
    let statusServer: StatusServer | undefined;
    if (status) {
      try {
        statusServer = await startModemStatus(
          modules.map((m) => m.modem),
          {
            address: `${status.host.includes(':') ? `[${status.host}]` : status.host}:${status.port}`,
            ...(creds ? { auth: creds.text } : {}),
          },
        );
      } catch (err) {
        await proxies.close().catch(() => {});
        await Promise.all(modules.map((m) => m.close()));
        throw addressInUse(err, () => 'status');
      }
    }
    const where = (l: Listen | undefined): string =>
      l ? `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}` : 'off';
    io.status(
      `serve: ready socks=${where(proxies.socks)} http=${where(proxies.http)} status=${where(statusServer && status ? { host: status.host, port: statusServer.port } : undefined)} modules=${modules.length}${auth ? ' auth=on' : ''}`,
    );

    const mocks = modules.map((m) => m.mock).filter((m): m is MockModem => m !== undefined);
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (why: string): void => {
        if (stopping) return;
        stopping = true;
        io.status(`serve: stopping (${why})`);
        // Tunnels and modules get a bounded time to close; the exit status stays 0.
        setTimeout(() => resolve(0), STOP_DEADLINE_MS).unref();
        void Promise.all([proxies.close().catch(() => {}), statusServer?.close().catch(() => {})])
          .then(() => Promise.all(modules.map((m) => m.close())))
          .then(() => resolve(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      if (mocks.length > 0) {
        const rl = readline.createInterface({ input: process.stdin, terminal: false });
        rl.on('line', (line) => {
          const m = /^\s*(?:(\d+)\s+)?(\S.*?)\s*$/.exec(line);
          if (!m) return;
          const i = m[1] !== undefined ? Number(m[1]) : 0;
          if (m[2] === 'quit') return stop('quit');
          const mock = mocks[i];
          if (!mock) return io.status(`serve: no mock module ${i} (there are ${mocks.length})`);
          try {
            mock.applyFault(m[2]!);
            io.status(`serve: fault ${m[2]} on mock${i}`);
          } catch (err) {
            io.status(`serve: ${err instanceof Error ? err.message : String(err)}`);
          }
        });
      }
    });
  },
};
