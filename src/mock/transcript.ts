/** One recorded event of the mock: a command line it received or bytes it sent to the host. */
export interface MockTranscriptEntry {
  /** Milliseconds since the mock was created (monotonic clock). */
  at: number;
  /** `command`: a complete command line as received (without terminator); `sent`: bytes the module wrote. */
  kind: 'command' | 'sent';
  /** The command line (kind `command`) or the bytes as latin1 text (kind `sent`). */
  text: string;
  /** The raw bytes (kind `sent` only). */
  bytes?: Buffer;
}

/**
 * A bounded log: the oldest entries go once either bound is exceeded, and `dropped` counts them,
 * so a long transfer cannot grow memory without limit and a test can see that something was cut.
 */
export class Transcript {
  private readonly items: MockTranscriptEntry[] = [];
  private bytes = 0;
  /** How many entries were discarded to respect the bounds. */
  dropped = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly clock: () => number,
  ) {}

  get entries(): MockTranscriptEntry[] {
    return this.items;
  }

  command(line: string): void {
    this.push({ at: this.clock(), kind: 'command', text: line });
  }

  sent(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.push({ at: this.clock(), kind: 'sent', text: bytes.toString('latin1'), bytes });
  }

  /** Everything the module sent, concatenated, as latin1 text (only what is still retained). */
  sentText(): string {
    return this.items
      .filter((e) => e.kind === 'sent')
      .map((e) => e.text)
      .join('');
  }

  /** The command lines received, in order (only what is still retained). */
  commands(): string[] {
    return this.items.filter((e) => e.kind === 'command').map((e) => e.text);
  }

  clear(): void {
    this.items.length = 0;
    this.bytes = 0;
  }

  private push(e: MockTranscriptEntry): void {
    this.items.push(e);
    this.bytes += e.bytes ? e.bytes.length : e.text.length;
    if (this.items.length <= this.maxEntries && this.bytes <= this.maxBytes) return;
    let cut = 0;
    while (cut < this.items.length - 1 && (this.items.length - cut > this.maxEntries || this.bytes > this.maxBytes)) {
      const old = this.items[cut]!;
      this.bytes -= old.bytes ? old.bytes.length : old.text.length;
      cut++;
    }
    this.items.splice(0, cut);
    this.dropped += cut;
  }
}
