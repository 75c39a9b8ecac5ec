/**
 * The unthrottled whole-path runs of `air780 bench` (mock behind a pty in its own process, the
 * websocket server in another, this process as the host), alone, for a CPU profile of the host.
 * Plain JavaScript over the build, so it runs under `node --cpu-prof` as is:
 *   npx tsc -p tsconfig.json
 *   node --cpu-prof --cpu-prof-dir /tmp/prof bench/profile-path.mjs \
 *     [up|down|both=both] [push|pull|both=both] [MB=2] [baud=0]
 * Prints payload rate and host CPU ms per MB for each run.
 */
import { Modem } from '../dist/modem/index.js';
import { modemWs, startMock, startServer } from '../dist/bench/run.js';
import { download, upload } from '../dist/bench/workloads.js';

const dirArg = process.argv[2] ?? 'both';
const modeArg = process.argv[3] ?? 'both';
const mb = Number(process.argv[4] ?? 2);
const baud = Number(process.argv[5] ?? 0);
const total = Math.round(mb * 1024 * 1024);
const server = await startServer();
const mock = await startMock(baud, (l) => console.log(l));
try {
  for (const rxMode of modeArg === 'both' ? ['push', 'pull'] : [modeArg]) {
    const modem = await Modem.open({ path: mock.path, baudRate: baud || 921600, rxMode });
    try {
      const connect = modemWs(modem, server.port);
      for (const dir of dirArg === 'both' ? ['up', 'down'] : [dirArg]) {
        const run = dir === 'up' ? upload : download;
        const before = process.cpuUsage();
        const t = await run(connect, total, 16384, { deflate: false, timeoutMs: 300_000 });
        const used = process.cpuUsage(before);
        const rate = t.bytes / t.seconds;
        const line = baud ? ` = ${(rate / (baud / 10)).toFixed(3)} of line` : '';
        console.log(
          `${rxMode} ${dir}: ${(rate / 1000).toFixed(1)} kB/s${line}, CPU ${(t.cpuMs / (t.bytes / 1e6)).toFixed(0)} ms/MB (user ${(used.user / 1000 / (t.bytes / 1e6)).toFixed(0)}, system ${(used.system / 1000 / (t.bytes / 1e6)).toFixed(0)}; ${t.bytes} B in ${t.seconds.toFixed(2)} s)`,
        );
      }
    } finally {
      await modem.close();
    }
  }
} finally {
  await mock.stop();
  server.child.disconnect();
  server.child.kill();
}
