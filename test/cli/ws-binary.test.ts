/**
 * `air780 ws` message types run as a user would: --binary sends the exact bytes of each stdin line
 * as a binary message, without it lines are text; --echo returns each message with its type.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';
import { runCliBytes, sha256, recordingServers } from './ws-helpers.js';

const cleanups = useBuiltCli();

const server = recordingServers(cleanups);

describe('air780 ws --binary / text / --echo', () => {
  it('--binary: each stdin line arrives as a binary message with exactly its bytes (not UTF-8 only)', async () => {
    const s = await server();
    const lines = [
      Buffer.from('plain ascii'),
      Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x80, 0x41, 0x0d, 0x42]),
      Buffer.from('héllo €'),
      Buffer.from([0xc3]),
    ];
    const input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const r = await runCliBytes(['ws', '--mock', '--binary', '--linger', '300', s.url('/bin')], input);
    expect(r.code, r.stderr).toBe(0);
    const got = s.connections[0]!.messages;
    expect(got.map((m) => m.binary)).toEqual([true, true, true, true]);
    expect(got.map((m) => m.data.toString('hex'))).toEqual(lines.map((l) => l.toString('hex')));
    // Received binary goes to stdout raw: the echoes, back to back.
    expect(r.stdout.toString('hex')).toBe(Buffer.concat(lines).toString('hex'));
  });

  it('without --binary: lines arrive as text messages, received text printed one a line', async () => {
    const s = await server();
    const r = await runCli(['ws', '--mock', '--linger', '300', s.url('/text')], {
      input: 'one\ntwo €\n',
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const got = s.connections[0]!.messages;
    expect(got.map((m) => [m.binary, m.data.toString()])).toEqual([
      [false, 'one'],
      [false, 'two €'],
    ]);
    expect(r.stdout).toBe('one\ntwo €\n');
  });

  it('--echo: binary and text from the server come back with their type and bytes; exit 0 when the server closes', async () => {
    const payloads = [
      { data: Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef, 0xff]), binary: true },
      { data: Buffer.from('text stays text'), binary: false },
      { data: randomBytes(3000), binary: true },
    ];
    const s = await server({
      echo: false,
      onConnection: (c) => {
        for (const p of payloads) c.ws.send(p.data, { binary: p.binary });
      },
    });
    const cli = startCli(['ws', '--mock', '--echo', s.url('/echo')]);
    cleanups.push(() => cli.kill());
    await s.until(() => (s.connections[0]?.messages.length ?? 0) >= payloads.length, 'echoes at the server', 30_000);
    const got = s.connections[0]!.messages;
    expect(got.map((m) => m.binary)).toEqual(payloads.map((p) => p.binary));
    expect(got.map((m) => m.sha256)).toEqual(payloads.map((p) => sha256(p.data)));
    s.connections[0]!.ws.close(1000, 'done');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout).toBe('');
  });
});
