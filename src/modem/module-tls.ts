import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import createDebug from 'debug';
import type { AtResponse, AtSendOptions } from '../at/index.js';
import { BadArgumentError } from '../at/errors.js';
import { atFileName, atHost } from '../at/args.js';

const debug = createDebug('air780:modem:tls');

/** Largest `AT+FSWRITE` payload; bigger files are appended in pieces. */
const FSWRITE_MAX = 10_240;

type Send = (command: string, options?: AtSendOptions) => Promise<AtResponse>;

/**
 * The protocol version module TLS speaks: the module's own `AT+SSLCFG="sslversion"` setting, with
 * Node's version spellings. Unlike Node's `minVersion` this is not a floor: the module speaks
 * exactly one version (1 TLS1.0, 2 TLS1.1, 3 TLS1.2), or `'all'` (4: "all of the above", which per
 * the manual includes SSL 3.0). The module has no TLS 1.3.
 */
export type ModuleTlsVersion = 'TLSv1.2' | 'TLSv1.1' | 'TLSv1' | 'all';

/** `AT+SSLCFG="sslversion"` values (air780e-at.md §5 TLS, manual §12.7). */
const SSL_VERSION_VALUE: Record<ModuleTlsVersion, number> = { 'TLSv1.2': 3, 'TLSv1.1': 2, TLSv1: 1, all: 4 };

/** What module TLS needs from the connect options. */
export interface ModuleTlsOptions {
  servername?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  /**
   * Module TLS only: the protocol version the module speaks. Default `'TLSv1.2'`. `'TLSv1.1'`,
   * `'TLSv1'` and `'all'` (SSL 3.0 up to TLS 1.2) are for old servers only: those protocols are
   * broken; prefer host TLS (`tls: 'host'`, TLS 1.2/1.3 with Node's checks) where you can.
   */
  sslVersion?: ModuleTlsVersion;
}

/**
 * The `sslversion` value for `options` (default TLS 1.2 only), or `ERR_BAD_ARGUMENT`.
 *
 * Why 3 and not the field's 4: 4 ("all") lets a downgrade or a stale server land on SSL 3.0 /
 * TLS 1.0, silently. 3 is the manual's "TLS1.2", a single version like 0–2 (4 is "all of the
 * above"), so the module offers exactly TLS 1.2. A server that also speaks TLS 1.3 negotiates 1.2
 * with it (the module has no 1.3: only TLS 1.2 RSA-kx suites are documented); a TLS 1.3-only server
 * cannot be reached by module TLS at any setting (use host TLS). Not yet confirmed on hardware that
 * the firmware refuses a TLS 1.0/1.1 ServerHello under 3; hw-tests covers the 1.2 path.
 */
export function sslVersionValue(options: Pick<ModuleTlsOptions, 'sslVersion'>): number {
  const v = options.sslVersion ?? 'TLSv1.2';
  const value = typeof v === 'string' && Object.hasOwn(SSL_VERSION_VALUE, v) ? SSL_VERSION_VALUE[v] : undefined;
  if (value === undefined) {
    throw new BadArgumentError(
      'sslVersion',
      `module TLS sslVersion must be one of ${Object.keys(SSL_VERSION_VALUE)
        .map((k) => `'${k}'`)
        .join(', ')} (got ${String(v)}); the module has no TLS 1.3: for it use host TLS (tls: 'host')`,
    );
  }
  return value;
}

/**
 * Module TLS (AT+CIPSSL / AT+SSLCFG): the module-wide switch, per-link contexts (ctx = link id),
 * and the CA file, uploaded once per content (its name is a hash of the content).
 */
export class ModuleTls {
  /** Module-wide CIPSSL setting as last set; undefined after bring-up (unknown). */
  private sslOn: boolean | undefined;
  private readonly uploaded = new Set<string>();
  private readonly suspect = new Set<string>();
  private readonly caOfLink = new Map<number, string>();

  constructor(private readonly send: Send) {}

  /** Forget the switch state after a bring-up (uploaded files stay: they live in flash). */
  reset(): void {
    this.sslOn = undefined;
  }

  /** Make sure the switch is off before a plain link. */
  async ensurePlain(): Promise<void> {
    if (this.sslOn === false) return;
    await this.send('AT+CIPSSL=0');
    this.sslOn = false;
  }

  /** Configure TLS context `link` for `host` and turn the switch on. */
  async configureLink(link: number, host: string, options: ModuleTlsOptions): Promise<void> {
    const sslVersion = sslVersionValue(options);
    if (sslVersion !== 3)
      debug('WARNING: module TLS for %s allows old protocols (sslVersion %s)', host, options.sslVersion);
    const verify = options.rejectUnauthorized !== false;
    // SNI for host names only (RFC 6066): for an IP the module's hostname setting is erased, so
    // neither it nor a name left in this context by an earlier link is sent or checked.
    const servername = options.servername || host;
    const sni = isIP(servername.replace(/^\[(.*)\]$/, '$1')) ? undefined : atHost(servername, 'servername');
    let caFile: string | undefined;
    if (verify) {
      if (!options.ca) {
        throw new BadArgumentError(
          'ca',
          'module TLS has no CA store: pass { ca } to verify the server, or { rejectUnauthorized: false } to connect without verification',
        );
      }
      caFile = await this.uploadCa(options.ca);
      this.caOfLink.set(link, caFile);
    } else {
      this.caOfLink.delete(link);
      debug('WARNING: module TLS certificate verification is OFF for %s (rejectUnauthorized: false)', host);
    }
    // Field report: without sslversion every handshake fails.
    await this.send(`AT+SSLCFG="sslversion",${link},${sslVersion}`);
    if (caFile) {
      await this.send(`AT+SSLCFG="cacert",${link},${atFileName(caFile)}`);
      await this.send(`AT+SSLCFG="seclevel",${link},1`);
    } else {
      await this.send(`AT+SSLCFG="seclevel",${link},0`);
    }
    // SNI: firmware ≥V1161 sends it; which source it uses is unknown, so set hostname too.
    await this.send(sni ? `AT+SSLCFG="hostname",${link},${sni}` : `AT+SSLCFG="hostname",${link},`);
    if (this.sslOn !== true) {
      await this.send('AT+CIPSSL=1');
      this.sslOn = true;
    }
  }

  /** A module-TLS connect failed: the CA file may be partial or stale, upload it next time. */
  forgetCa(link: number): void {
    const name = this.caOfLink.get(link);
    if (!name) return;
    this.uploaded.delete(name);
    this.suspect.add(name);
  }

  private async listed(name: string): Promise<boolean> {
    try {
      const r = await this.send('AT+FSLS');
      return r.lines.some((l) => l.trim().replace(/^"|"$/g, '') === name);
    } catch {
      return false;
    }
  }

  private async uploadCa(ca: string | Buffer | Array<string | Buffer>): Promise<string> {
    const parts = Array.isArray(ca) ? ca : [ca];
    const content = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    const name = `ca-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.crt`;
    if (this.uploaded.has(name)) return name;
    const quoted = atFileName(name);
    // The name is a hash of the content: a file of that name from an earlier session is the same
    // CA (unless a connect with it failed since, which marks it suspect: then upload again).
    if (!this.suspect.has(name) && (await this.listed(name))) {
      debug('CA %s already on the module', name);
      this.uploaded.add(name);
      return name;
    }
    debug('uploading CA %s (%d bytes)', name, content.length);
    await this.send(`AT+FSCREATE=${quoted}`);
    for (let off = 0; off < content.length; off += FSWRITE_MAX) {
      const piece = content.subarray(off, off + FSWRITE_MAX);
      await this.send(`AT+FSWRITE=${quoted},${off === 0 ? 0 : 1},${piece.length},15`, { payload: piece });
    }
    this.uploaded.add(name);
    return name;
  }
}
