import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions, type ModuleTlsVersion } from '../../src/modem/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { echoThrough } from './helpers.js';

const FAST: ModemOpenOptions = { syncIntervalMs: 300, pollIntervalMs: 50, commandTimeoutMs: 5000 };

/** A TLS echo server limited to [min, max] that records the protocol of each handshake. */
interface VersionedServer {
  port: number;
  protocols: string[];
  close(): Promise<void>;
}

async function startVersioned(
  pki: TestPki,
  minVersion: tls.SecureVersion,
  maxVersion: tls.SecureVersion,
): Promise<VersionedServer> {
  const protocols: string[] = [];
  const legacy = minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3';
  const server = tls.createServer(
    // OpenSSL 3 refuses TLS 1.0/1.1 above security level 0.
    {
      cert: pki.serverCert,
      key: pki.serverKey,
      minVersion,
      maxVersion,
      ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    },
    (s) => {
      protocols.push(s.getProtocol() ?? 'none');
      s.on('error', () => {});
      s.pipe(s);
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    protocols,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let pki: TestPki;
let oldOnly: VersionedServer;
let modern: VersionedServer;
beforeAll(async () => {
  pki = makeTestPki();
  oldOnly = await startVersioned(pki, 'TLSv1', 'TLSv1.1');
  modern = await startVersioned(pki, 'TLSv1.2', 'TLSv1.3');
});
afterAll(async () => {
  await oldOnly.close();
  await modern.close();
});
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

async function open() {
  const mock = new MockModem();
  cleanup.push(() => mock.close());
  const modem = await Modem.open({ stream: mock.hostStream(), ...FAST });
  cleanup.push(() => modem.close());
  const commands = () => mock.transcript.filter((x) => x.kind === 'command').map((x) => x.text);
  return { mock, modem, commands };
}

describe('module TLS protocol version', () => {
  it('by default the module speaks TLS 1.2 only: a TLS 1.0/1.1-only server is refused', async () => {
    const { modem, commands } = await open();
    await expect(
      modem.openStream('localhost', oldOnly.port, { tls: 'modem', ca: pki.caCert, timeoutMs: 10_000 }),
    ).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED' });
    expect(commands().filter((c) => c.includes('"sslversion"'))).toEqual(['AT+SSLCFG="sslversion",0,3']);
    expect(oldOnly.protocols).toEqual([]);
  });

  it('by default a TLS 1.2/1.3 server is reached, over TLS 1.2 (the module has no 1.3)', async () => {
    const { modem } = await open();
    const before = modern.protocols.length;
    const s = await modem.openStream('localhost', modern.port, { tls: 'modem', ca: pki.caCert });
    const r = await echoThrough(s, 4000);
    expect(r.received).toBe(r.sent);
    expect(modern.protocols.slice(before)).toEqual(['TLSv1.2']);
    s.destroy();
  });

  it.each([
    ['all', 4, 'TLSv1.1'],
    ['TLSv1.1', 2, 'TLSv1.1'],
    ['TLSv1', 1, 'TLSv1'],
  ] as const)(
    'sslVersion %s (sslversion %d) is an explicit opt-in that reaches the old server over %s',
    async (sslVersion, value, protocol) => {
      const { modem, commands } = await open();
      const before = oldOnly.protocols.length;
      const s = await modem.openStream('localhost', oldOnly.port, { tls: 'modem', ca: pki.caCert, sslVersion });
      const r = await echoThrough(s, 2000);
      expect(r.received).toBe(r.sent);
      expect(oldOnly.protocols.slice(before)).toEqual([protocol]);
      expect(commands()).toContain(`AT+SSLCFG="sslversion",0,${value}`);
      s.destroy();
    },
  );

  it('sslVersion TLSv1.2 explicitly is the default; it does not reach the old server', async () => {
    const { modem, commands } = await open();
    await expect(
      modem.openStream('localhost', oldOnly.port, {
        tls: 'modem',
        ca: pki.caCert,
        sslVersion: 'TLSv1.2',
        timeoutMs: 10_000,
      }),
    ).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED' });
    expect(commands()).toContain('AT+SSLCFG="sslversion",0,3');
  });

  it.each(['TLSv1.3', 'tlsv1.2', 3, '', 'SSLv3'])(
    'a bad sslVersion (%s) is ERR_BAD_ARGUMENT before any SSLCFG, and the link is freed',
    async (bad) => {
      const { modem, commands } = await open();
      await expect(
        modem.openStream('localhost', modern.port, {
          tls: 'modem',
          ca: pki.caCert,
          sslVersion: bad as unknown as ModuleTlsVersion,
        }),
      ).rejects.toMatchObject({
        code: 'ERR_BAD_ARGUMENT',
        argument: 'sslVersion',
        message: expect.stringContaining("'TLSv1.2'"),
      });
      expect(commands().some((c) => c.startsWith('AT+SSLCFG') || c.startsWith('AT+FS'))).toBe(false);
      // All six links are still free.
      const ok = await Promise.all(
        Array.from({ length: 6 }, () => modem.openStream('localhost', modern.port, { tls: 'modem', ca: pki.caCert })),
      );
      for (const s of ok) s.destroy();
    },
  );

  it('sslVersion is refused before a link is taken: a bad value thrown by connect(), and on a link the module does not encrypt', async () => {
    const { modem, commands } = await open();
    expect(() =>
      modem.connect('localhost', modern.port, {
        tls: 'modem',
        ca: pki.caCert,
        sslVersion: 'SSLv3' as unknown as ModuleTlsVersion,
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', argument: 'sslVersion' }));
    expect(() => modem.connect('127.0.0.1', modern.port, { sslVersion: 'TLSv1.1' })).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringContaining("tls: 'modem'") }),
    );
    await expect(
      modem.openStream('localhost', modern.port, { tls: 'host', ca: pki.caCert, sslVersion: 'all' }),
    ).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT', argument: 'sslVersion' });
    expect(commands().some((c) => c.startsWith('AT+CIPSTART') || c.startsWith('AT+SSLCFG'))).toBe(false);
  });
});
