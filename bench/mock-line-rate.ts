/**
 * Measures the mock's simulated serial line against its nominal rate (baud/10 bytes/s each way).
 * Usage (Node 20 has no TypeScript loader; compile into node_modules/.cache so packages resolve):
 *   npx tsc --outDir node_modules/.cache/air780-bench --rootDir . --module nodenext \
 *     --moduleResolution nodenext --target es2022 --skipLibCheck --types node --ignoreConfig \
 *     bench/mock-line-rate.ts
 *   node node_modules/.cache/air780-bench/bench/mock-line-rate.js [baud=115200] [seconds=10]
 */
import { measureLineRate } from '../src/bench/mock-line-rate.js';

const baud = Number(process.argv[2] ?? 115_200);
const seconds = Number(process.argv[3] ?? 10);
const r = await measureLineRate(baud, seconds);
const nominal = baud / 10;
const pct = (f: number): string => `${((f - 1) * 100).toFixed(2)}%`;
console.log(`baud ${baud}, nominal ${nominal} B/s, ${seconds} s each way at once`);
console.log(`module → host: ${r.bytesPerSec.toFixed(1)} B/s (${pct(r.fraction)})`);
console.log(`host → module: ${r.uplinkBytesPerSec.toFixed(1)} B/s (${pct(r.uplinkFraction)})`);
const ok = Math.abs(r.fraction - 1) <= 0.02 && Math.abs(r.uplinkFraction - 1) <= 0.02;
console.log(ok ? 'within 2%: yes' : 'within 2%: NO');
process.exitCode = ok ? 0 : 1;
