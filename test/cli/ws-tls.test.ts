/**
 * `air780 ws --mock wss://...` run as a user would: host TLS with --ca, without it, --insecure, and
 * module TLS (--tls modem) with the right and an unrelated CA, against a local wss server.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTestPki } from '../helpers/certs.js';
import { runCli } from './build.js';
import { useBuiltCli } from './spawn.js';
import { errorLines, recordingServers } from './ws-helpers.js';

const cleanups = useBuiltCli();

const server = recordingServers(cleanups);

describe('air780 ws --mock wss:// (host TLS and module TLS)', () => {
  const pki = makeTestPki();
  const caFile = join(pki.dir, 'ca.crt');
  const otherCaFile = join(pki.dir, 'other-ca.crt');
  const tlsServer = () => server({ tls: { cert: pki.serverCert, key: pki.serverKey } });

  it('--ca FILE: the host verifies the server, a line goes out and comes back', async () => {
    const s = await tlsServer();
    const r = await runCli(['ws', '--mock', '--ca', caFile, '--linger', '300', s.url('/tls')], {
      input: 'over tls\n',
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('over tls\n');
    expect(s.connections).toHaveLength(1);
    expect(s.connections[0]!.messages.map((m) => m.data.toString())).toEqual(['over tls']);
    expect(r.stderr).toContain(`connected to ${s.url('/tls')}`);
    expect(r.stderr).not.toMatch(/--insecure/);
  });

  it('without --ca: exit 1, the failure said once in one line, with a hint naming --ca FILE and --insecure', async () => {
    const s = await tlsServer();
    const r = await runCli(['ws', '--mock', s.url('/tls')], { input: 'x\n', timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const errors = errorLines(r.stderr);
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^air780: .*certificate/);
    const hint = r.stderr.split('\n').find((l) => l.startsWith('  hint: '));
    expect(hint, r.stderr).toBeDefined();
    expect(hint).toContain('--ca FILE');
    expect(hint).toContain('--insecure');
    expect(s.connections).toHaveLength(0);
    expect(r.stdout).toBe('');
  });

  it('--insecure: works, with one warning line on stderr', async () => {
    const s = await tlsServer();
    const r = await runCli(['ws', '--mock', '--insecure', '--linger', '300', s.url('/tls')], {
      input: 'unverified\n',
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('unverified\n');
    expect(r.stderr.match(/^warning: --insecure: .*not verified/gm)).toHaveLength(1);
    expect(s.connections[0]!.messages.map((m) => m.data.toString())).toEqual(['unverified']);
  });

  it('--tls modem --ca FILE: TLS in the (mock) module, verified against the CA, works', async () => {
    const s = await tlsServer();
    const r = await runCli(['ws', '--mock', '--tls', 'modem', '--ca', caFile, '--linger', '300', s.url('/modem-tls')], {
      input: 'module tls\n',
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('module tls\n');
    expect(s.connections[0]!.messages.map((m) => m.data.toString())).toEqual(['module tls']);
  });

  it('--tls modem with an unrelated CA: exit 1, one clear line, nothing reaches the server', async () => {
    const s = await tlsServer();
    const r = await runCli(['ws', '--mock', '--tls', 'modem', '--ca', otherCaFile, s.url('/modem-tls')], {
      input: 'x\n',
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(1);
    const errors = errorLines(r.stderr);
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^air780: .*localhost:\d+.*CA/);
    expect(s.connections).toHaveLength(0);
    expect(r.stdout).toBe('');
  });

  it('--ca with a file that does not exist: exit 1 naming the file, before opening the module', async () => {
    const r = await runCli(['ws', '--mock', '--ca', join(pki.dir, 'missing.crt'), 'wss://localhost:1/'], {
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^air780: cannot read --ca .*missing\.crt/m);
    expect(r.stderr).not.toContain('opening the embedded mock');
  });
});
