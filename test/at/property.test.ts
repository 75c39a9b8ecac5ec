/**
 * Seeded property test: random interleavings of responses, URCs, blocks and noise, randomly
 * chunked. Every announced block must arrive byte-exact and every command must get its own result.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtChannel } from '../../src/at/index.js';
import { FakeModule, lineResponder, randomChunks } from './fake.js';

type Event =
  | { kind: 'urc'; id: number }
  | { kind: 'block'; link: number; data: Uint8Array; rxf0: boolean }
  | { kind: 'noise'; bytes: Uint8Array };

interface Plan {
  lines: string[];
  final: 'OK' | 'ERROR' | '+CME ERROR: 3' | '+CME ERROR: 65535';
  /** Pull-mode read: a +CIPRXGET: 2 block that belongs to the command. */
  pull?: Uint8Array;
  /** Events woven into the response: index i goes before info line i (or before the final). */
  events: Array<{ at: number; event: Event }>;
  after: Event[];
}

const SPECIAL = ['\r\nOK\r\n', '> ', '+RECEIVE,0,5:\r\n', '\r\n+CME ERROR: 3\r\n', 'AT\r', '\0'].map((s) =>
  Buffer.from(s, 'latin1'),
);
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.constantFrom(...SPECIAL).map((b) => new Uint8Array(b)),
  fc
    .tuple(fc.uint8Array({ maxLength: 20 }), fc.constantFrom(...SPECIAL))
    .map(([a, s]) => new Uint8Array(Buffer.concat([a, s]))),
);
const noiseArb = fc
  .uint8Array({ minLength: 0, maxLength: 30 })
  .map((a) => new Uint8Array([0xff, ...a.filter((x) => x !== 0x0d && x !== 0x0a)]));
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.nat(9999).map((id) => ({ kind: 'urc' as const, id })),
  fc.record({
    kind: fc.constant('block' as const),
    link: fc.integer({ min: 0, max: 5 }),
    data: payloadArb,
    rxf0: fc.boolean(),
  }),
  noiseArb.map((bytes) => ({ kind: 'noise' as const, bytes })),
);
const planArb: fc.Arbitrary<Plan> = fc
  .record({
    lines: fc.array(fc.stringMatching(/^[A-Za-z0-9,: ]{0,12}$/), { maxLength: 3 }),
    final: fc.constantFrom('OK' as const, 'ERROR' as const, '+CME ERROR: 3' as const, '+CME ERROR: 65535' as const),
    pull: fc.option(
      payloadArb.filter((d) => d.length > 0),
      { nil: undefined },
    ),
    events: fc.array(fc.record({ at: fc.nat(4), event: eventArb }), { maxLength: 4 }),
    after: fc.array(eventArb, { maxLength: 2 }),
  })
  .map((p) => {
    const plan: Plan = {
      lines: p.lines.map((l, i) => `+P${i}: ${l}`),
      final: p.final,
      events: p.events,
      after: p.after,
    };
    if (p.pull) plan.pull = p.pull;
    return plan;
  });

function eventBytes(e: Event): Buffer {
  switch (e.kind) {
    case 'urc':
      return Buffer.from(`\r\n+URC: ${e.id}\r\n`);
    case 'block':
      return Buffer.concat([
        Buffer.from(`\r\n+RECEIVE,${e.link},${e.data.length}:\r\n`),
        e.data,
        Buffer.from(e.rxf0 ? '\r\n' : ''),
      ]);
    case 'noise':
      return Buffer.concat([Buffer.from('\r\n'), e.bytes, Buffer.from('\r\n')]);
  }
}

function responseBytes(p: Plan): Buffer {
  const parts: Buffer[] = [];
  const slots = p.lines.length + 1;
  const eventsAt = (i: number) => p.events.filter((e) => e.at % slots === i).map((e) => eventBytes(e.event));
  if (p.pull) {
    parts.push(Buffer.from(`\r\n+CIPRXGET: 2,0,${p.pull.length},0\r\n`), Buffer.from(p.pull), Buffer.from('\r\n'));
  }
  for (let i = 0; i < p.lines.length; i++) {
    parts.push(...eventsAt(i), Buffer.from(`\r\n${p.lines[i]}\r\n`));
  }
  parts.push(...eventsAt(p.lines.length), Buffer.from(`\r\n${p.final}\r\n`));
  parts.push(...p.after.map(eventBytes));
  return Buffer.concat(parts);
}

/** Events in the order they appear on the wire. */
function wireEvents(p: Plan): Event[] {
  const slots = p.lines.length + 1;
  const out: Event[] = [];
  for (let i = 0; i < slots; i++) out.push(...p.events.filter((e) => e.at % slots === i).map((e) => e.event));
  return [...out, ...p.after];
}

describe('AtChannel property: random interleavings, random chunking', () => {
  it('delivers every block byte-exact and gives every command its own result', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(planArb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.integer({ min: 1, max: 64 }),
        async (plans, seed, maxChunk) => {
          const fake = new FakeModule(randomChunks(seed, maxChunk));
          const ch = new AtChannel(fake.stream, { defaultTimeoutMs: 5000 });
          const urcs: string[] = [];
          const blocks: string[] = [];
          const unknown: string[] = [];
          ch.onUrc(/^\+URC: \d+$/, (u) => urcs.push(u.line));
          ch.onUrc(/^\+RECEIVE,/, (u) => blocks.push(`${u.link}:${u.data!.toString('hex')}`));
          ch.on('unknown', (l: string) => unknown.push(l));
          const commands = plans.map((p, i) => (p.pull ? `AT+CIPRXGET=2,0,${i + 1}` : `AT+P${i}`));
          fake.responder = lineResponder((cmd) => {
            const i = commands.indexOf(cmd);
            return i < 0 ? '\r\nERROR\r\n' : responseBytes(plans[i]!).toString('latin1');
          });
          // FakeModule.send takes latin1 strings: a lossless byte round trip.
          const results = await Promise.all(
            commands.map((c) =>
              ch.send(c).then(
                (r) => ({ lines: r.lines, final: r.final, data: r.data?.toString('hex') }),
                (e: { final?: string; lines?: string[] }) => ({ lines: e.lines, final: e.final, data: undefined }),
              ),
            ),
          );
          await fake.idle();
          ch.close();

          const expected = plans.map((p) => ({
            lines: p.pull ? [`+CIPRXGET: 2,0,${p.pull.length},0`, ...p.lines] : p.lines,
            final: p.final,
            data: p.pull && p.final === 'OK' ? Buffer.from(p.pull).toString('hex') : undefined,
          }));
          expect(results).toEqual(expected);
          const events = plans.flatMap(wireEvents);
          expect(urcs).toEqual(events.flatMap((e) => (e.kind === 'urc' ? [`+URC: ${e.id}`] : [])));
          expect(blocks).toEqual(
            events.flatMap((e) => (e.kind === 'block' ? [`${e.link}:${Buffer.from(e.data).toString('hex')}`] : [])),
          );
          expect(unknown).toEqual(
            events.flatMap((e) => (e.kind === 'noise' ? [Buffer.from(e.bytes).toString('utf8')] : [])),
          );
        },
      ),
      { seed: 780, numRuns: 300 },
    );
  });
});
