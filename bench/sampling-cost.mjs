#!/usr/bin/env node
// What signal sampling costs a bulk upload: 1 MiB pushed through one module link to a local TCP
// sink on the mock at a simulated serial line rate, with sampling off and on (observeModem's
// AT+CSQ/AT+CESQ/AT+CEREG?/AT+COPS? every INTERVAL ms), alternating, RUNS times each.
//
//   npm run build && node bench/sampling-cost.mjs [RUNS=3] [BAUD=921600] [INTERVAL_MS=1000]
//
// The default interval in the library is 30 000 ms; 1000 ms here makes the cost visible.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { MockModem, Modem, observeModem } from '../dist/index.js';

const RUNS = Number(process.argv[2] ?? 3);
const BAUD = Number(process.argv[3] ?? 921600);
const INTERVAL = Number(process.argv[4] ?? 1000);
const SIZE = 1024 * 1024;

const sink = createServer((s) => s.resume());
sink.listen(0, '127.0.0.1');
await once(sink, 'listening');

async function upload(sampling) {
  const mock = new MockModem({ baudRate: BAUD });
  const modem = await Modem.open({ stream: mock.hostStream() });
  const obs = observeModem(modem, { signalIntervalMs: sampling ? INTERVAL : 0, identity: false });
  try {
    const s = modem.connect('127.0.0.1', sink.address().port);
    await once(s, 'connect');
    const chunk = Buffer.alloc(16 * 1024, 0x5a);
    const t0 = performance.now();
    for (let off = 0; off < SIZE; off += chunk.length) if (!s.write(chunk)) await once(s, 'drain');
    await s.delivery.waitAccepted(SIZE, { timeoutMs: 300_000 });
    const seconds = (performance.now() - t0) / 1000;
    const csq = obs.stats().at.commands.CSQ?.count ?? 0;
    s.destroy();
    return { seconds, rate: SIZE / seconds, csq };
  } finally {
    obs.close();
    await modem.close();
    await mock.close();
  }
}

const off = [];
const on = [];
for (let i = 0; i < RUNS; i++) {
  off.push(await upload(false));
  on.push(await upload(true));
  console.log(
    `run ${i + 1}: off ${(off[i].rate / 1024).toFixed(1)} KiB/s, on ${(on[i].rate / 1024).toFixed(1)} KiB/s (${on[i].csq} samples)`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mOff = median(off.map((r) => r.rate));
const mOn = median(on.map((r) => r.rate));
console.log(
  `median: off ${(mOff / 1024).toFixed(1)} KiB/s, on ${(mOn / 1024).toFixed(1)} KiB/s, change ${(((mOn - mOff) / mOff) * 100).toFixed(2)} % (baud ${BAUD}, interval ${INTERVAL} ms, ${RUNS} runs, 1 MiB each)`,
);
sink.close();
