import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Modem } from '../modem/index.js';
import type { ModemConnectionOptions } from './connection.js';
import { connectWhenFree, type LinkWaitOptions } from './link-wait.js';

/** The module offers 6 links; a pool never asks for more. */
const LINKS = 6;

/** Options of {@link httpAgent}: `http.AgentOptions` plus the wait for a free link. */
export interface ModemAgentOptions extends http.AgentOptions, Omit<LinkWaitOptions, 'signal'> {
  /** Wait for the module's `CONNECT OK`. Default: the modem's `connectTimeoutMs`. */
  connectTimeoutMs?: number;
}

/** Options of {@link httpsAgent}: `https.AgentOptions` (`ca`, `rejectUnauthorized`, `servername`…) plus the wait for a free link. */
export interface ModemHttpsAgentOptions extends https.AgentOptions, Omit<LinkWaitOptions, 'signal'> {
  connectTimeoutMs?: number;
  /** TLS on the host (default, verified on the host) or on the module (`'modem'`: module-wide, needs `ca`). */
  tlsMode?: 'host' | 'modem';
}

type ConnectCallback = (err: Error | null, socket?: Duplex) => void;
/** What `http.Agent` passes to `createConnection`: request and agent options merged. */
type AgentConnectOptions = http.ClientRequestArgs &
  https.RequestOptions & { servername?: string; ALPNProtocols?: string[] };

/** The agent options Node should see: keep-alive on, pools capped at the module's 6 links. */
function agentOptions<T extends http.AgentOptions>(options: T): T {
  const cap = (n: number | undefined) => Math.min(n ?? LINKS, LINKS);
  return {
    keepAlive: true,
    timeout: 15_000,
    ...options,
    maxSockets: cap(options.maxSockets),
    maxTotalSockets: cap(options.maxTotalSockets),
  };
}

function connector(
  modem: Modem,
  wait: LinkWaitOptions & { connectTimeoutMs?: number | undefined },
  tls: false | 'host' | 'modem',
) {
  return (req: AgentConnectOptions, cb: ConnectCallback): undefined => {
    const options: ModemConnectionOptions = {
      host: req.hostname ?? req.host ?? 'localhost',
      port: req.port ?? (tls ? 443 : 80),
      tls,
      ...(typeof req.timeout === 'number' ? { timeout: req.timeout } : {}),
      ...(wait.connectTimeoutMs !== undefined ? { connectTimeoutMs: wait.connectTimeoutMs } : {}),
      ...(tls
        ? {
            ...(req.servername ? { servername: req.servername } : {}),
            ...(req.ca ? { ca: req.ca as NonNullable<ModemConnectionOptions['ca']> } : {}),
            ...(req.rejectUnauthorized !== undefined ? { rejectUnauthorized: req.rejectUnauthorized } : {}),
            ...(req.cert ? { cert: req.cert as NonNullable<ModemConnectionOptions['cert']> } : {}),
            ...(req.key ? { key: req.key as NonNullable<ModemConnectionOptions['key']> } : {}),
            ...(req.ALPNProtocols ? { ALPNProtocols: req.ALPNProtocols } : {}),
          }
        : {}),
    };
    connectWhenFree(modem, options, { ...wait, ...(req.signal ? { signal: req.signal } : {}) }).then(
      (socket) => cb(null, socket),
      (err: Error) => cb(err),
    );
    return undefined;
  };
}

/**
 * An `http.Agent` whose sockets are module links: keep-alive pooling by default (an idle pooled
 * link is closed after `timeout`, default 15 s, so it does not hold one of the 6 links forever),
 * `maxSockets`/`maxTotalSockets` at most 6. When every link is taken (by anyone), a new connection
 * waits up to `linkWaitMs` and then fails the request with `ERR_LINK_WAIT_TIMEOUT`.
 *
 * ```ts
 * http.get('http://example.com/', { agent: httpAgent(modem) }, (res) => …);
 * ```
 */
export function httpAgent(modem: Modem, options: ModemAgentOptions = {}): http.Agent {
  const agent = new http.Agent(agentOptions(options));
  agent.createConnection = connector(modem, options, false) as unknown as http.Agent['createConnection'];
  return agent;
}

/**
 * An `https.Agent` whose sockets are module links with TLS on the host (Node's TLS, certificates
 * verified against the system store or `ca` unless `rejectUnauthorized: false`), or on the module
 * with `tlsMode: 'modem'`. Pooling and link waits as {@link httpAgent}.
 */
export function httpsAgent(modem: Modem, options: ModemHttpsAgentOptions = {}): https.Agent {
  const agent = new https.Agent(agentOptions(options));
  agent.createConnection = connector(
    modem,
    options,
    options.tlsMode === 'modem' ? 'modem' : 'host',
  ) as unknown as https.Agent['createConnection'];
  return agent;
}
