import { describe, expect, it } from 'vitest';
import type { ClientLedger } from '../../src/soak/clients.js';
import { grade, type GradeInput } from '../../src/soak/grades.js';
import type { ServerLedger } from '../../src/soak/server.js';

const MB = 1024 * 1024;

function ledger(
  sends: Array<[number, 'pending' | 'acked' | 'failed']>,
  extra: Partial<ClientLedger> = {},
): ClientLedger {
  return {
    sends: new Map(sends),
    receivedOk: 5,
    receivedBytes: 100,
    corrupt: [],
    duplicates: [],
    disorder: [],
    errors: new Map(),
    connects: 1,
    outages: [],
    ...extra,
  };
}

function input(
  over: { client?: ClientLedger; server?: Partial<ServerLedger>; rest?: Partial<GradeInput> } = {},
): GradeInput {
  const server: ServerLedger = {
    received: new Map([
      [
        'a',
        new Map([
          [0, 1],
          [1, 1],
        ]),
      ],
    ]),
    corrupt: [],
    connections: 1,
    sent: 5,
    bytesIn: 0,
    bytesOut: 0,
    ...over.server,
  };
  return {
    clients: [
      {
        name: 'a',
        ledger:
          over.client ??
          ledger([
            [0, 'acked'],
            [1, 'acked'],
            [2, 'failed'],
          ]),
      },
    ],
    server,
    faults: [{ atMs: 1000, specs: ['reboot 0'], recoveryMs: 1200, disturbed: ['a'], notBack: [] }],
    recoveryBoundMs: 30_000,
    rss: { baseline: 80 * MB, peak: 90 * MB },
    rssLimitBytes: 100 * MB,
    unhandled: [],
    ...over.rest,
  };
}

const verdicts = (i: GradeInput) => grade(i).map((g) => g.pass);

describe('soak grades', () => {
  it('all pass on a clean ledger (a lost unacknowledged message is allowed)', () => {
    expect(verdicts(input())).toEqual([true, true, true, true, true, true]);
  });

  it('fail when an acknowledged message is missing, duplicated, fabricated or corrupt at the server', () => {
    const missing = input({ server: { received: new Map([['a', new Map([[0, 1]])]]) } });
    expect(grade(missing)[1]).toMatchObject({
      pass: false,
      detail: expect.stringContaining('a #1 acknowledged but never reached'),
    });
    const twice = input({
      server: {
        received: new Map([
          [
            'a',
            new Map([
              [0, 1],
              [1, 1],
              [2, 2],
            ]),
          ],
        ]),
      },
    });
    expect(grade(twice)[1]).toMatchObject({
      pass: false,
      detail: expect.stringContaining('a #2 reached the server 2 times'),
    });
    const made = input({
      server: {
        received: new Map([
          [
            'a',
            new Map([
              [0, 1],
              [1, 1],
              [9, 1],
            ]),
          ],
        ]),
      },
    });
    expect(grade(made)[1]).toMatchObject({ pass: false, detail: expect.stringContaining('never sent') });
    const bad = input({ server: { corrupt: [{ where: 'ws a conn 1', reason: 'SHA-256 mismatch' }] } });
    expect(grade(bad)[1]!.pass).toBe(false);
  });

  it('fail when a client got a corrupt, duplicated or out-of-order message, or had no traffic', () => {
    for (const k of ['corrupt', 'duplicates', 'disorder'] as const) {
      const c = ledger(
        [
          [0, 'acked'],
          [1, 'acked'],
        ],
        { [k]: ['x'] },
      );
      expect(verdicts(input({ client: c }))[2]).toBe(false);
    }
    expect(
      verdicts(
        input({
          client: ledger(
            [
              [0, 'acked'],
              [1, 'acked'],
            ],
            { receivedOk: 0 },
          ),
        }),
      )[0],
    ).toBe(false);
  });

  it('fail when a client was not back in time, or is still down at the end', () => {
    expect(
      verdicts(
        input({
          rest: { faults: [{ atMs: 0, specs: ['stall 900'], recoveryMs: null, disturbed: ['a'], notBack: ['a'] }] },
        }),
      )[3],
    ).toBe(false);
    const long = ledger(
      [
        [0, 'acked'],
        [1, 'acked'],
      ],
      { outages: [{ from: 0, to: 31_000 }] },
    );
    expect(verdicts(input({ client: long }))[3]).toBe(false);
    const down = ledger(
      [
        [0, 'acked'],
        [1, 'acked'],
      ],
      { outages: [{ from: 0 }] },
    );
    expect(verdicts(input({ client: down }))[3]).toBe(false);
  });

  it('fail on RSS growth over the limit and on any unhandled error', () => {
    expect(verdicts(input({ rest: { rss: { baseline: 80 * MB, peak: 181 * MB } } }))[4]).toBe(false);
    expect(verdicts(input({ rest: { unhandled: ['uncaught: boom'] } }))[5]).toBe(false);
  });
});
