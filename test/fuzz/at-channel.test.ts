/**
 * Fuzzing the AT channel against a scripted module that answers with random interleavings of
 * echo, information lines, URCs, `+RECEIVE` / `+IPD` blocks, garbled noise and over-long lines,
 * delivered in random chunks (one chunk per event-loop turn). Some commands are prompt commands
 * with hostile payloads; some get no answer at all (timeout), and their late final may arrive
 * just before the resync's answer. Every command must get exactly its own result or a timeout,
 * every block must arrive byte-exact, every payload must reach the module byte-exact, and every
 * failure must be an Air780Error with its designed code.
 */
import fc from 'fast-check';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Air780Error, AtChannel } from '../../src/at/index.js';
import { params } from './util.js';

type Event =
  | { kind: 'urc'; id: number }
  | { kind: 'block'; via: 'receive' | 'ipd'; link: number; data: Uint8Array }
  | { kind: 'noise'; bytes: Uint8Array }
  | { kind: 'longline'; n: number };

type Cmd =
  | {
      kind: 'plain';
      echo: boolean;
      lines: string[];
      final: 'OK' | 'ERROR' | '+CME ERROR: 3' | '+CME ERROR: 50';
      events: Array<[number, Event]>;
    }
  | { kind: 'prompt'; echo: boolean; payload: Uint8Array; final: 'DATA ACCEPT:0,' | '0, SEND OK' | '0, SEND FAIL' }
  | { kind: 'silent'; late: 'none' | 'OK' | 'ERROR' };

const MAX_LINE = 512;

const hostilePayload = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 100 }),
  fc
    .constantFrom('\r\nOK\r\n', '> ', 'AT\r', '\r\n+RECEIVE,0,5:\r\n', '\u001a', '\u001b', '\n')
    .map((s) => new Uint8Array(Buffer.from(s))),
);
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 3, arbitrary: fc.nat(9999).map((id) => ({ kind: 'urc' as const, id })) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('block' as const),
      via: fc.constantFrom('receive' as const, 'ipd' as const),
      link: fc.integer({ min: 0, max: 5 }),
      data: fc.oneof(hostilePayload, fc.uint8Array({ maxLength: 1460 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 30 }).map((a) => ({
      kind: 'noise' as const,
      bytes: new Uint8Array([0xff, ...a.filter((x) => x !== 0x0d && x !== 0x0a)]),
    })),
  },
  { weight: 1, arbitrary: fc.integer({ min: MAX_LINE + 1, max: 3000 }).map((n) => ({ kind: 'longline' as const, n })) },
);
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('plain' as const),
      echo: fc.boolean(),
      lines: fc.array(fc.stringMatching(/^[A-Za-z0-9,: ]{0,12}$/), { maxLength: 3 }),
      final: fc.constantFrom('OK' as const, 'ERROR' as const, '+CME ERROR: 3' as const, '+CME ERROR: 50' as const),
      events: fc.array(fc.tuple(fc.nat(4), eventArb), { maxLength: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('prompt' as const),
      echo: fc.boolean(),
      payload: hostilePayload,
      final: fc.constantFrom('DATA ACCEPT:0,' as const, '0, SEND OK' as const, '0, SEND FAIL' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('silent' as const),
      late: fc.constantFrom('none' as const, 'OK' as const, 'ERROR' as const),
    }),
  },
);

function eventBytes(e: Event): Buffer {
  switch (e.kind) {
    case 'urc':
      return Buffer.from(`\r\n+URC: ${e.id}\r\n`);
    case 'block':
      return e.via === 'receive'
        ? Buffer.concat([Buffer.from(`\r\n+RECEIVE,${e.link},${e.data.length}:\r\n`), e.data])
        : Buffer.concat([Buffer.from(`\r\n+IPD,${e.data.length}:`), e.data]);
    case 'noise':
      return Buffer.concat([Buffer.from('\r\n'), e.bytes, Buffer.from('\r\n')]);
    case 'longline':
      return Buffer.from(`\r\n${'Z'.repeat(e.n)}\r\n`);
  }
}

function commandText(c: Cmd, i: number): string {
  return c.kind === 'prompt' ? `AT+CIPSEND=0,${c.payload.length}` : c.kind === 'silent' ? `AT+S${i}` : `AT+P${i}`;
}

function plainLines(c: Extract<Cmd, { kind: 'plain' }>, i: number): string[] {
  return c.lines.map((l, j) => `+P${i}_${j}: ${l}`);
}

/** The scripted module: parses what the host writes and answers from the plan. */
class ScriptedModule {
  readonly stream: Duplex;
  private inbox = Buffer.alloc(0);
  private outbox: Buffer[] = [];
  private pumping = false;
  private awaitingPayload: { cmd: Extract<Cmd, { kind: 'prompt' }>; index: number } | undefined;
  private owedLate: Array<'OK' | 'ERROR'> = [];
  readonly payloads = new Map<number, Buffer>();
  readonly unexpected: string[] = [];

  constructor(
    private readonly cmds: Cmd[],
    private readonly cut: () => number,
  ) {
    this.stream = new Duplex({
      read() {},
      write: (chunk: Buffer, _enc, cb) => {
        this.inbox = Buffer.concat([this.inbox, chunk]);
        this.process();
        cb();
      },
    });
  }

  private say(bytes: Buffer): void {
    // Deliver in random pieces, one per event-loop turn, behind whatever is still queued.
    for (let i = 0; i < bytes.length; ) {
      const n = this.cut();
      this.outbox.push(bytes.subarray(i, i + n));
      i += n;
    }
    if (!this.pumping) {
      this.pumping = true;
      const step = (): void => {
        const c = this.outbox.shift();
        if (!c) {
          this.pumping = false;
          return;
        }
        this.stream.push(c);
        setImmediate(step);
      };
      setImmediate(step);
    }
  }

  get idle(): boolean {
    return !this.pumping && this.outbox.length === 0;
  }

  private process(): void {
    for (;;) {
      if (this.awaitingPayload) {
        const { cmd, index } = this.awaitingPayload;
        if (this.inbox.length < cmd.payload.length) return;
        this.payloads.set(index, Buffer.from(this.inbox.subarray(0, cmd.payload.length)));
        this.inbox = this.inbox.subarray(cmd.payload.length);
        this.awaitingPayload = undefined;
        this.say(
          Buffer.from(`\r\n${cmd.final === 'DATA ACCEPT:0,' ? `DATA ACCEPT:0,${cmd.payload.length}` : cmd.final}\r\n`),
        );
        continue;
      }
      const cr = this.inbox.indexOf(0x0d);
      if (cr < 0) return;
      let n = cr + 1;
      if (this.inbox[n] === 0x0a) n++;
      const line = this.inbox.toString('latin1', 0, cr);
      this.inbox = this.inbox.subarray(n);
      this.answer(line);
    }
  }

  private answer(line: string): void {
    if (line === 'AT') {
      // The resync: a late final of a timed-out command comes first, as the module answers in order.
      const late = this.owedLate.shift();
      this.say(Buffer.from(`${late ? `\r\n${late}\r\n` : ''}\r\nOK\r\n`));
      return;
    }
    if (line === 'AT+A780SYNC') {
      this.say(Buffer.from('\r\nERROR\r\n'));
      return;
    }
    const m = /^AT\+(?:P|S)(\d+)$|^AT\+CIPSEND=0,(\d+)$/.exec(line);
    const index =
      m?.[1] !== undefined
        ? Number(m[1])
        : this.cmds.findIndex((c, i) => c.kind === 'prompt' && !this.payloads.has(i) && commandText(c, i) === line);
    const cmd = this.cmds[index];
    if (!cmd || commandText(cmd, index) !== line) {
      this.unexpected.push(line);
      this.say(Buffer.from('\r\nERROR\r\n'));
      return;
    }
    if (cmd.kind === 'silent') {
      if (cmd.late !== 'none') this.owedLate.push(cmd.late);
      return;
    }
    const echo = cmd.echo ? Buffer.from(`${line}\r`) : Buffer.alloc(0);
    if (cmd.kind === 'prompt') {
      this.awaitingPayload = { cmd, index };
      this.say(Buffer.concat([echo, Buffer.from('\r\n> ')]));
      return;
    }
    const lines = plainLines(cmd, index);
    const slots = lines.length + 1;
    const at = (k: number) => cmd.events.filter(([s]) => s % slots === k).map(([, e]) => eventBytes(e));
    const parts: Buffer[] = [echo];
    lines.forEach((l, k) => {
      parts.push(...at(k), Buffer.from(`\r\n${l}\r\n`));
    });
    parts.push(...at(lines.length), Buffer.from(`\r\n${cmd.final}\r\n`));
    this.say(Buffer.concat(parts));
  }
}

/** Events in wire order for a plain command (the order the module emits them). */
function wireEvents(c: Extract<Cmd, { kind: 'plain' }>): Event[] {
  const slots = c.lines.length + 1;
  const out: Event[] = [];
  for (let k = 0; k < slots; k++) out.push(...c.events.filter(([s]) => s % slots === k).map(([, e]) => e));
  return out;
}

describe('AtChannel fuzz', () => {
  it('echo, URCs, blocks, noise, prompts, silent commands and late finals: every command gets its own result [seed 78501]', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(cmdArb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.integer({ min: 1, max: 96 }),
        async (cmds, seed, maxChunk) => {
          let x = seed;
          const cut = () => {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            return 1 + (x % maxChunk);
          };
          const mod = new ScriptedModule(cmds, cut);
          const ch = new AtChannel(mod.stream, {
            defaultTimeoutMs: 10_000,
            syncTimeoutMs: 10_000,
            maxLineLength: MAX_LINE,
          });
          const urcs: string[] = [];
          const blocks: string[] = [];
          const unknown: string[] = [];
          const errors: unknown[] = [];
          ch.onUrc(/^\+URC: \d+$/, (u) => urcs.push(u.line));
          ch.onUrc(/^\+(?:RECEIVE|IPD),/, (u) =>
            blocks.push(`${u.kind}:${u.link ?? '-'}:${Buffer.from(u.data!).toString('hex')}`),
          );
          ch.on('unknown', (l: string) => unknown.push(l));
          ch.on('error', (e) => errors.push(e));

          const results = await Promise.all(
            cmds.map((c, i) => {
              const opts: { timeoutMs: number; payload?: Buffer } = { timeoutMs: c.kind === 'silent' ? 30 : 10_000 };
              if (c.kind === 'prompt') opts.payload = Buffer.from(c.payload);
              return ch.send(commandText(c, i), opts).then(
                (r) => ({ ok: true, lines: r.lines, final: r.final }),
                (e: unknown) => {
                  expect(e).toBeInstanceOf(Air780Error);
                  const err = e as Air780Error & { final?: string; lines?: string[] };
                  return {
                    ok: false,
                    code: err.code,
                    final: err.final,
                    lines: err.code === 'ERR_AT_TIMEOUT' ? [] : err.lines,
                  };
                },
              );
            }),
          );
          for (let i = 0; i < 200 && !mod.idle; i++) await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
          ch.close();

          const expected = cmds.map((c, i) => {
            if (c.kind === 'silent') return { ok: false, code: 'ERR_AT_TIMEOUT', final: undefined, lines: [] };
            if (c.kind === 'prompt') {
              const final = c.final === 'DATA ACCEPT:0,' ? `DATA ACCEPT:0,${c.payload.length}` : c.final;
              return c.final === '0, SEND FAIL'
                ? { ok: false, code: 'ERR_AT_ERROR', final, lines: [] }
                : { ok: true, lines: [], final };
            }
            const lines = plainLines(c, i);
            if (c.final === 'OK') return { ok: true, lines, final: 'OK' };
            return { ok: false, code: c.final === 'ERROR' ? 'ERR_AT_ERROR' : 'ERR_CME', final: c.final, lines };
          });
          expect(results).toEqual(expected);
          expect(mod.unexpected).toEqual([]);
          cmds.forEach((c, i) => {
            if (c.kind === 'prompt')
              expect(mod.payloads.get(i)?.toString('hex'), `payload of command ${i}`).toBe(
                Buffer.from(c.payload).toString('hex'),
              );
          });
          const events = cmds.flatMap((c) => (c.kind === 'plain' ? wireEvents(c) : []));
          expect(urcs).toEqual(events.flatMap((e) => (e.kind === 'urc' ? [`+URC: ${e.id}`] : [])));
          expect(blocks).toEqual(
            events.flatMap((e) =>
              e.kind === 'block'
                ? [`${e.via}:${e.via === 'receive' ? e.link : '-'}:${Buffer.from(e.data).toString('hex')}`]
                : [],
            ),
          );
          expect(unknown).toEqual(
            events.flatMap((e) =>
              e.kind === 'noise'
                ? [Buffer.from(e.bytes).toString('utf8')]
                : e.kind === 'longline'
                  ? ['Z'.repeat(48)]
                  : [],
            ),
          );
          expect(errors).toEqual([]);
        },
      ),
      params(78501, 120),
    );
  });
});
