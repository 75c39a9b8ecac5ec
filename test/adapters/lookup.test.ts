import http from 'node:http';
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { ModemLookupError, type Modem } from '../../src/index.js';
import { defer, openModem } from '../integration/helpers.js';
import { startHttpServer } from './http-server.js';

/** Names under the reserved .test TLD: the host's own resolver cannot answer them, only the mock. */
const NAMES: Record<string, string> = { 'api.example.test': '127.0.0.1', 'other.example.test': '127.0.0.2' };
const resolve = (host: string) => NAMES[host];

function lookup(
  modem: Modem,
  host: string,
  options: object | number = {},
): Promise<{ address: string | LookupAddress[]; family?: number | undefined }> {
  return new Promise((res, rej) => {
    modem.lookup(host, options as never, (err: Error | null, address: string | LookupAddress[], family?: number) =>
      err ? rej(err) : res({ address, family }),
    );
  });
}

const cdnsgips = (cmds: string[]) => cmds.filter((c) => c.startsWith('AT+CDNSGIP='));

describe('modem.lookup (AT+CDNSGIP)', () => {
  it('resolves a name through the module, in every dns.lookup call form', async () => {
    const { modem, mock } = await openModem({ mock: { resolve } });
    expect(await lookup(modem, 'api.example.test')).toEqual({ address: '127.0.0.1', family: 4 });
    expect(await lookup(modem, 'other.example.test', 4)).toEqual({ address: '127.0.0.2', family: 4 });
    expect((await lookup(modem, 'api.example.test', { all: true })).address).toEqual([
      { address: '127.0.0.1', family: 4 },
    ]);
    expect(cdnsgips(mock.commands())).toEqual([
      'AT+CDNSGIP="api.example.test"',
      'AT+CDNSGIP="other.example.test"',
      'AT+CDNSGIP="api.example.test"',
    ]);
    // `modem.lookup` is bound and stable: libraries receive it detached.
    expect(modem.lookup).toBe(modem.lookup);
  });

  it('a name the module cannot resolve is ENOTFOUND (ModemLookupError) with the module error number', async () => {
    const { modem } = await openModem({ mock: { resolve } });
    const err = await lookup(modem, 'nowhere.example.test').catch((e: ModemLookupError) => e);
    expect(err).toBeInstanceOf(ModemLookupError);
    expect(err).toMatchObject({
      code: 'ENOTFOUND',
      hostname: 'nowhere.example.test',
      moduleError: 10,
      syscall: 'getaddrinfo',
    });
    const v6 = await lookup(modem, 'api.example.test', { family: 6 }).catch((e: ModemLookupError) => e);
    expect(v6).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('answers IP literals without asking the module, and refuses a name that would inject AT', async () => {
    const { modem, mock } = await openModem({ mock: { resolve } });
    expect(await lookup(modem, '192.0.2.7')).toEqual({ address: '192.0.2.7', family: 4 });
    const bad = await lookup(modem, 'x"\r\nAT+CFUN=0').catch((e: Error & { code?: string }) => e);
    expect(bad).toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    expect(cdnsgips(mock.commands())).toEqual([]);
  });

  it('concurrent lookups each get their own answer (a failure line names no host)', async () => {
    const { modem } = await openModem({ mock: { resolve } });
    const results = await Promise.allSettled(
      ['api.example.test', 'nowhere.example.test', 'other.example.test'].map((h) => lookup(modem, h)),
    );
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value.address : (r.reason as { code: string }).code)),
    ).toEqual(['127.0.0.1', 'ENOTFOUND', '127.0.0.2']);
  });

  it('http.get with `lookup: modem.lookup` resolves through the module, not the host', async () => {
    const { modem, mock } = await openModem({ mock: { resolve } });
    const server = await startHttpServer();
    defer(() => server.close());
    const body = await new Promise<string>((res, rej) => {
      http
        .get(
          { host: 'api.example.test', port: server.port, path: '/hello', lookup: modem.lookup, agent: false },
          (r) => {
            let s = '';
            r.on('data', (d: Buffer) => (s += d.toString()));
            r.on('end', () => res(s));
          },
        )
        .on('error', rej);
    });
    expect(body).toBe('hello');
    expect(cdnsgips(mock.commands())).toEqual(['AT+CDNSGIP="api.example.test"']);
    // And through a module agent the module resolves the name itself (CIPSTART with the name).
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    const viaModule = await new Promise<string>((res, rej) => {
      http
        .get({ host: 'api.example.test', port: server.port, path: '/hello', agent }, (r) => {
          let s = '';
          r.on('data', (d: Buffer) => (s += d.toString()));
          r.on('end', () => res(s));
        })
        .on('error', rej);
    });
    expect(viaModule).toBe('hello');
    expect(
      mock
        .commands()
        .some((c) => new RegExp(`^AT\\+CIPSTART=\\d,"TCP","api\\.example\\.test",${server.port}$`).test(c)),
    ).toBe(true);
  });
});
