/**
 * Issue 17 item 1: host TLS over the module must check an IP target against the IP (a certificate's
 * `IP:` entry) and a name target against the name, on every path a user can take: `openStream`,
 * `openerConnect`, `websocket.create(modem, …)`, the README's `servername: t.servername` example,
 * the default host transport, module TLS, and `air780 ws --mock … --ca`. One CA signs two
 * certificates, `DNS:localhost` only and `IP:127.0.0.1` only; for `wss://127.0.0.1` the first must
 * be refused and the second accepted (and the other way round for `wss://localhost`). Also
 * (issue 16): no DEP0123 warning for TLS to an IP (SNI is sent for host names only).
 */
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostConnect, openerConnect, websocket, WebSocketClient, type ConnectFn } from '../../src/ws/index.js';
import type { Modem } from '../../src/modem/index.js';
import { makeIpVsNamePki, type IpVsNamePki } from '../helpers/ip-certs.js';
import { runCli } from '../cli/build.js';
import { useBuiltCli } from '../cli/spawn.js';
import { defer, openModem, recordLuat, startWsEcho, type WsPeer } from './helpers.js';

useBuiltCli();

let pki: IpVsNamePki;
/** Servers presenting the `DNS:localhost` and the `IP:127.0.0.1` certificate. */
let dnsPeer: WsPeer;
let ipPeer: WsPeer;
beforeAll(async () => {
  pki = makeIpVsNamePki();
  dnsPeer = await startWsEcho({}, pki.dns);
  ipPeer = await startWsEcho({}, pki.ip);
  for (const p of [dnsPeer, ipPeer]) p.wss.options.server!.on('tlsClientError', () => {});
});
afterAll(async () => {
  await dnsPeer.close();
  await ipPeer.close();
});

type Outcome = 'accepted' | `refused ${string}`;

/** The first code in an error's cause chain (Node's verification code, for a refused certificate). */
function codes(err: unknown): string {
  const out: string[] = [];
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 8;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string') out.push(e.code);
  }
  return out.join(' < ');
}

/** Opens a websocket to `url` through `connect` and says whether the server's certificate passed. */
async function wsOutcome(url: string, connect: ConnectFn): Promise<Outcome> {
  const client = new WebSocketClient(url, { connect, keepaliveMs: 0, handshakeTimeoutMs: 20_000 });
  defer(() => client.terminate());
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  try {
    await client.opened();
  } catch {
    return `refused ${codes(errors[0])}`;
  }
  const echoed = new Promise((resolve) => client.once('message', resolve));
  client.send('through');
  expect(await echoed).toBe('through');
  return 'accepted';
}

async function streamOutcome(open: () => Promise<Duplex>): Promise<Outcome> {
  try {
    const s = await open();
    s.destroy();
    return 'accepted';
  } catch (err) {
    return `refused ${codes(err)}`;
  }
}

const ALTNAME = /^refused .*ERR_TLS_CERT_ALTNAME_INVALID/;
const MODULE_REFUSED = /^refused ERR_WS_CONNECT < ERR_CONNECT_FAILED/;

/** Each path, given the modem, a URL and the CA: what a user writes. */
const wsPaths: Array<[string, (modem: Modem, ca: string) => ConnectFn]> = [
  ['openerConnect(modem, { ca })', (modem, ca) => openerConnect(modem, { ca })],
  [
    "the README's connect: modem.openStream(t.host, t.port, { tls: 'host', servername: t.servername })",
    (modem, ca) => (t) =>
      modem.openStream(t.host, t.port, { tls: t.secure ? 'host' : false, servername: t.servername, ca }),
  ],
];

describe('host TLS over the module checks the IP for an IP target, the name for a name', () => {
  for (const [name, make] of wsPaths) {
    it(`${name}: wss://127.0.0.1 takes IP:127.0.0.1 and refuses DNS:localhost; wss://localhost the reverse`, async () => {
      const { modem } = await openModem();
      const ca = pki.caCert;
      expect(await wsOutcome(`wss://127.0.0.1:${ipPeer.port}/`, make(modem, ca))).toBe('accepted');
      expect(await wsOutcome(`wss://127.0.0.1:${dnsPeer.port}/`, make(modem, ca))).toMatch(ALTNAME);
      expect(await wsOutcome(`wss://localhost:${dnsPeer.port}/`, make(modem, ca))).toBe('accepted');
      expect(await wsOutcome(`wss://localhost:${ipPeer.port}/`, make(modem, ca))).toMatch(ALTNAME);
    });
  }

  it("modem.openStream('127.0.0.1', …, { tls: 'host' }), with and without an explicit IP servername", async () => {
    const { modem } = await openModem();
    const ca = pki.caCert;
    for (const servername of [undefined, '127.0.0.1']) {
      const opts = { tls: 'host' as const, ca, ...(servername ? { servername } : {}) };
      expect(await streamOutcome(() => modem.openStream('127.0.0.1', ipPeer.port, opts))).toBe('accepted');
      expect(await streamOutcome(() => modem.openStream('127.0.0.1', dnsPeer.port, opts))).toMatch(ALTNAME);
    }
    // An explicit name is what gets checked, whatever the host.
    expect(
      await streamOutcome(() =>
        modem.openStream('127.0.0.1', dnsPeer.port, { tls: 'host', ca, servername: 'localhost' }),
      ),
    ).toBe('accepted');
  });

  it('websocket.create(modem, wss://127.0.0.1…): conack with the IP certificate, error then disconnect with the localhost one', async () => {
    const { modem } = await openModem();
    const run = async (port: number) => {
      const wsc = websocket.create(modem, `wss://127.0.0.1:${port}/`, 60, false, { ca: pki.caCert })!;
      defer(() => wsc.close());
      const rec = recordLuat(wsc);
      expect(wsc.connect()).toBe(true);
      await Promise.race([rec.waitFor('conack', 1, 20_000), rec.waitFor('disconnect', 1, 20_000)]);
      return rec;
    };
    expect((await run(ipPeer.port)).names()).toEqual(['conack']);
    const refused = await run(dnsPeer.port);
    expect(refused.names()).toEqual(['error', 'disconnect']);
    expect(codes(refused.events[0]!.payload)).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it('module TLS (mode modem): the IP is checked, and no hostname (SNI) is configured for it', async () => {
    const { modem, mock } = await openModem();
    const connect = openerConnect(modem, { ca: pki.caCert, mode: 'modem' });
    // A name first, so that link's context holds a hostname an IP link must not inherit.
    expect(await wsOutcome(`wss://localhost:${dnsPeer.port}/`, connect)).toBe('accepted');
    expect(await wsOutcome(`wss://127.0.0.1:${ipPeer.port}/`, connect)).toBe('accepted');
    expect(await wsOutcome(`wss://127.0.0.1:${dnsPeer.port}/`, connect)).toMatch(MODULE_REFUSED);
    const hostnames = mock.commands().filter((c) => c.startsWith('AT+SSLCFG="hostname"'));
    expect(hostnames[0]).toMatch(/^AT\+SSLCFG="hostname",\d,"localhost"$/);
    expect(
      hostnames.slice(1).every((c) => /^AT\+SSLCFG="hostname",\d,$/.test(c)),
      hostnames.join('\n'),
    ).toBe(true);
  });

  it('the default host transport (hostConnect) agrees', async () => {
    const connect = hostConnect({ ca: pki.caCert });
    expect(await wsOutcome(`wss://127.0.0.1:${ipPeer.port}/`, connect)).toBe('accepted');
    expect(await wsOutcome(`wss://127.0.0.1:${dnsPeer.port}/`, connect)).toMatch(
      /^refused ERR_WS_CONNECT < ERR_TLS_CERT_ALTNAME_INVALID/,
    );
  });
});

describe('air780 ws --mock wss://127.0.0.1 --ca (spawned)', () => {
  for (const tls of ['host', 'modem'] as const) {
    it(`--tls ${tls}: the IP certificate works, the localhost one is refused, and no DEP0123 warning`, async () => {
      const ok = await runCli(
        ['ws', '--mock', '--tls', tls, '--ca', pki.caFile, '--linger', '300', `wss://127.0.0.1:${ipPeer.port}/ip`],
        { input: 'by ip\n', timeoutMs: 60_000 },
      );
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe('by ip\n');
      expect(ok.stderr).not.toMatch(/DEP0123|Setting the TLS ServerName to an IP address/);
      const bad = await runCli(
        ['ws', '--mock', '--tls', tls, '--ca', pki.caFile, `wss://127.0.0.1:${dnsPeer.port}/dns`],
        { input: 'x\n', timeoutMs: 60_000 },
      );
      expect(bad.code, bad.stderr).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).not.toMatch(/DEP0123|Setting the TLS ServerName to an IP address/);
      if (tls === 'host') expect(bad.stderr).toMatch(/hint: the certificate is not for this host name/);
    });
  }
});
