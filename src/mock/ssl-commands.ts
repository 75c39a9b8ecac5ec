import net from 'node:net';
import type tls from 'node:tls';
import { intArg, type AtCommand } from './command.js';
import { SSL_KEYS, validSslContext, type ModuleFiles, type SslConfig } from './files.js';
import type { CommandSet, Handler, ModuleIo, Reply } from './io.js';

const OK: Reply = { final: 'OK' };

/**
 * Module-side TLS: the module-wide `AT+CIPSSL` switch, the `AT+SSLCFG` contexts, and the TLS
 * options a secure link connects with (or why the module would fail its handshake).
 */
export class SslCommands implements CommandSet {
  readonly handlers = new Map<string, Handler>();

  constructor(
    private readonly io: ModuleIo,
    private readonly files: ModuleFiles,
    private readonly ssl: SslConfig,
    /** The `AT+CIP*` switches in force (replaced on reboot); `ssl` is the CIPSSL switch. */
    private readonly switches: () => { ssl: number },
  ) {
    const h = (name: string, fn: Handler): void => void this.handlers.set(name, fn);
    h('+CIPSSL', (c) => this.cipssl(c));
    h('+SSLCFG', (c) => this.sslcfg(c));
  }

  /** TLS options from the link's SSL context, or why the module would fail the handshake. */
  tlsOptions(ctx: number, host: string): tls.ConnectionOptions | string {
    const version = intArg(this.ssl.get(ctx, 'sslversion'), 0, 4);
    if (version === undefined) return 'sslversion not set (field: handshakes fail without it)';
    const versions: Record<number, [tls.SecureVersion, tls.SecureVersion] | undefined> = {
      1: ['TLSv1', 'TLSv1'],
      2: ['TLSv1.1', 'TLSv1.1'],
      3: ['TLSv1.2', 'TLSv1.2'],
      4: ['TLSv1', 'TLSv1.2'],
    };
    const range = versions[version];
    if (!range) return 'SSL 3.0 is not available';
    const seclevel = intArg(this.ssl.get(ctx, 'seclevel'), 0, 2) ?? 0;
    const hostname = this.ssl.get(ctx, 'hostname')?.value;
    const servername = hostname || (net.isIP(host) ? undefined : host);
    const o: tls.ConnectionOptions = { minVersion: range[0], maxVersion: range[1], rejectUnauthorized: seclevel >= 1 };
    // The module really offers TLS 1.0/1.1 when told to; OpenSSL 3 only does at security level 0.
    if (range[0] !== 'TLSv1.2') o.ciphers = 'DEFAULT:@SECLEVEL=0';
    if (servername) o.servername = servername;
    const file = (key: string): Buffer | undefined => {
      const name = this.ssl.get(ctx, key)?.value;
      return name ? this.files.get(name) : undefined;
    };
    if (seclevel >= 1) {
      const ca = file('cacert');
      if (!ca) return 'seclevel >= 1 but no cacert file';
      o.ca = ca.toString('latin1');
    }
    const cert = file('clientcert');
    const key = file('clientkey');
    if (seclevel === 2 && (!cert || !key)) return 'seclevel 2 needs clientcert and clientkey files';
    if (cert && key) {
      o.cert = cert.toString('latin1');
      o.key = key.toString('latin1');
    }
    return o;
  }

  private cipssl(c: AtCommand): Reply {
    if (c.type === 'read') return { lines: [`+CIPSSL: ${this.switches().ssl}`], final: 'OK' };
    if (c.type === 'test') return { lines: ['+CIPSSL: (0-1)'], final: 'OK' };
    const v = intArg(c.args[0], 0, 1);
    // Field: the per-link form AT+CIPSSL=0,1 is refused; the switch is module-wide.
    if (c.type !== 'set' || v === undefined || c.args.length !== 1) return { final: this.io.cme(3) };
    this.switches().ssl = v;
    return OK;
  }

  private sslcfg(c: AtCommand): Reply {
    if (c.type === 'read' || c.type === 'test') return OK;
    if (c.type !== 'set' || c.args.length < 2 || c.args.length > 3) return { final: this.io.cme(3) };
    const key = c.args[0]!.value.toLowerCase();
    const ctx = intArg(c.args[1], 0, 255);
    if (!SSL_KEYS.has(key) || ctx === undefined || !validSslContext(ctx)) return { final: this.io.cme(3) };
    const value = c.args[2];
    if (value === undefined) return { lines: [`+SSLCFG: "${key}",${ctx},${this.ssl.show(ctx, key)}`], final: 'OK' };
    if (value.value === '' && !value.quoted) {
      this.ssl.erase(ctx, key);
      return OK;
    }
    this.ssl.set(ctx, key, value);
    return OK;
  }
}
