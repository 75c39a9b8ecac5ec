/**
 * `air780 ws` transfer options run as a user would: --rx pull and --no-deflate with a 200 KB
 * message echoed byte-exact, permessage-deflate negotiated by default, --keepalive pings.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli } from './build.js';
import { startCli, useBuiltCli } from './spawn.js';
import { sha256, recordingServers } from './ws-helpers.js';

const cleanups = useBuiltCli();

const server = recordingServers(cleanups);

describe('air780 ws --rx pull, permessage-deflate', () => {
  // 200 KB of base64 text: one stdin line, one message.
  const big = randomBytes(150 * 1024).toString('base64');

  for (const deflate of [true, false]) {
    it(`--rx pull${deflate ? '' : ' --no-deflate'}: a 200 KB message is echoed byte-exact; deflate ${deflate ? 'is' : 'is not'} negotiated`, async () => {
      const s = await server({ perMessageDeflate: true });
      const args = [
        'ws',
        '--mock',
        '--rx',
        'pull',
        ...(deflate ? [] : ['--no-deflate']),
        '--linger',
        '500',
        s.url('/big'),
      ];
      const r = await runCli(args, { input: `${big}\n`, timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      const c = s.connections[0]!;
      expect(c.messages).toHaveLength(1);
      expect(c.messages[0]!.binary).toBe(false);
      expect(c.messages[0]!.data.length).toBe(big.length);
      expect(c.messages[0]!.sha256).toBe(sha256(big));
      expect(sha256(r.stdout)).toBe(sha256(`${big}\n`));
      if (deflate) {
        expect(c.headers['sec-websocket-extensions']).toMatch(/permessage-deflate/);
        expect(c.extensions).toMatch(/^permessage-deflate/);
        expect(r.stderr).toMatch(/connected to .* \(permessage-deflate/);
      } else {
        expect(c.headers['sec-websocket-extensions']).toBeUndefined();
        expect(c.extensions).toBe('');
        expect(r.stderr).not.toMatch(/permessage-deflate/);
      }
    }, 150_000);
  }
});
describe('air780 ws --keepalive', () => {
  it('--keepalive 1: the server sees pings while the connection is idle', async () => {
    const s = await server();
    const cli = startCli(['ws', '--mock', '--keepalive', '1', s.url('/idle')]);
    cleanups.push(() => cli.kill());
    await cli.waitFor(/connected to /, 'connected', 'stderr', 30_000);
    await s.until(() => (s.connections[0]?.pings ?? 0) >= 2, 'two pings at the server', 30_000);
    expect(s.connections[0]!.messages).toHaveLength(0);
    cli.end();
    expect(await cli.exited).toBe(0);
  });
});
