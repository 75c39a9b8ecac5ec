import { intArg, type AtCommand } from './command.js';
import type { ModuleFiles } from './files.js';
import type { CommandSet, Handler, ModuleIo, Reply } from './io.js';

const MAX_FSWRITE = 10_240;
const CRLF = Buffer.from('\r\n');
const OK: Reply = { final: 'OK' };

/** The flash file system commands (`AT+FSCREATE`, `+FSWRITE`, `+FSLS`, `+FSDEL`, `+FSREAD`), where certificates live. */
export class FileCommands implements CommandSet {
  readonly handlers = new Map<string, Handler>();

  constructor(
    private readonly io: ModuleIo,
    private readonly files: ModuleFiles,
  ) {
    const h = (name: string, fn: Handler): void => void this.handlers.set(name, fn);
    h('+FSCREATE', (c) => this.fscreate(c));
    h('+FSWRITE', (c) => this.fswrite(c));
    h('+FSLS', () => ({ lines: this.files.names(), final: 'OK' }));
    h('+FSDEL', (c) => this.fsdel(c));
    h('+FSREAD', (c) => this.fsread(c));
  }

  private fileName(c: AtCommand): string | undefined {
    const a = c.args[0];
    if (c.type !== 'set' || !a || a.value === '' || a.value.length > 64 || /[\\/]/.test(a.value)) return undefined;
    return a.value;
  }

  private fscreate(c: AtCommand): Reply {
    const name = this.fileName(c);
    if (!name) return { final: this.io.cme(3) };
    this.files.create(name);
    return OK;
  }

  private async fswrite(c: AtCommand): Promise<Reply | null> {
    const name = this.fileName(c);
    const mode = intArg(c.args[1], 0, 1);
    const size = intArg(c.args[2], 1, MAX_FSWRITE);
    const timeout = intArg(c.args[3], 1, 3600) ?? 10;
    if (!name || mode === undefined || size === undefined || !this.files.has(name)) return { final: this.io.cme(3) };
    const data = await this.io.prompt(size, true, timeout * 1000);
    if (data === undefined) return null;
    if (data === 'timeout') return { final: 'TimeOut' };
    if (data === 'aborted') return OK;
    return this.files.write(name, mode, data) ? OK : { final: this.io.cme(51) };
  }

  private fsdel(c: AtCommand): Reply {
    const name = this.fileName(c);
    if (!name || !this.files.delete(name)) return { final: this.io.cme(3) };
    return OK;
  }

  private fsread(c: AtCommand): Reply | null {
    const name = this.fileName(c);
    const file = name ? this.files.get(name) : undefined;
    if (!file) return { final: this.io.cme(3) };
    const mode = intArg(c.args[1], 0, 1) ?? 0;
    const size = intArg(c.args[2], 1, MAX_FSWRITE) ?? file.length;
    const pos = mode === 1 ? (intArg(c.args[3], 0, file.length) ?? 0) : 0;
    const data = file.subarray(pos, pos + size);
    this.io.raw(Buffer.concat([CRLF, data, CRLF]));
    this.io.final('OK');
    return null;
  }
}
