import type { AtArg } from './command.js';

/** The module's little flash file system (`AT+FS*`), 256 KB on the 780E AT firmware. */
export class ModuleFiles {
  private readonly files = new Map<string, Buffer>();
  static readonly CAPACITY = 256 * 1024;

  has(name: string): boolean {
    return this.files.has(name);
  }

  get(name: string): Buffer | undefined {
    return this.files.get(name);
  }

  names(): string[] {
    return [...this.files.keys()];
  }

  used(): number {
    let n = 0;
    for (const b of this.files.values()) n += b.length;
    return n;
  }

  create(name: string): void {
    if (!this.files.has(name)) this.files.set(name, Buffer.alloc(0));
  }

  /** mode 0 overwrites, 1 appends. False when the file system would overflow. */
  write(name: string, mode: number, data: Buffer): boolean {
    const old = this.files.get(name) ?? Buffer.alloc(0);
    const next = mode === 1 ? Buffer.concat([old, data]) : data;
    if (this.used() - old.length + next.length > ModuleFiles.CAPACITY) return false;
    this.files.set(name, next);
    return true;
  }

  delete(name: string): boolean {
    return this.files.delete(name);
  }
}

/** `AT+SSLCFG` keys the mock knows (manual §12.7). */
export const SSL_KEYS = new Set([
  'sslversion',
  'ciphersuite',
  'cacert',
  'clientcert',
  'clientkey',
  'seclevel',
  'hostname',
  'ignorelocaltime',
  'negotiatetimeout',
  'clientrandom',
  'premaster',
  'verifymode',
]);

/** Valid SSL context ids: 0–5 = TCP links, 34 FTP, 88 MQTT, 153 HTTP. */
export function validSslContext(ctx: number): boolean {
  return (ctx >= 0 && ctx <= 5) || ctx === 34 || ctx === 88 || ctx === 153;
}

/** Per-context SSL settings, stored as given so a query returns them in the same form. */
export class SslConfig {
  private readonly ctx = new Map<number, Map<string, AtArg>>();

  set(ctx: number, key: string, value: AtArg): void {
    let m = this.ctx.get(ctx);
    if (!m) {
      m = new Map();
      this.ctx.set(ctx, m);
    }
    m.set(key, value);
  }

  erase(ctx: number, key: string): void {
    this.ctx.get(ctx)?.delete(key);
  }

  get(ctx: number, key: string): AtArg | undefined {
    return this.ctx.get(ctx)?.get(key);
  }

  /** The value as the query prints it: quoted when it was given quoted. */
  show(ctx: number, key: string): string {
    const v = this.get(ctx, key);
    if (!v) return '';
    return v.quoted ? `"${v.value}"` : v.value;
  }

  clear(): void {
    this.ctx.clear();
  }
}
