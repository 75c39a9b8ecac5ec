import { isReboot } from './faults.js';
import type { SoakReport } from './run.js';

const MB = 1024 * 1024;

/** The soak report as text: settings, faults, per-client traffic, grades, and how to replay. */
export function formatReport(r: SoakReport): string {
  const out: string[] = [];
  out.push(
    `soak: seed ${r.seed}${r.preset === 'ci' ? ' (CI preset)' : ''}, ${r.durationMs / 1000} s of faults, ${r.baud ? `${r.baud} baud` : 'unthrottled line'}${r.latencyMs ? `, ${r.latencyMs} ms module latency` : ''}, ${r.rxMode} receive mode; ran ${(r.elapsedMs / 1000).toFixed(1)} s`,
  );
  const kinds = new Map<string, number>();
  for (const f of r.faults)
    for (const s of f.specs) kinds.set(s.split(' ')[0]!, (kinds.get(s.split(' ')[0]!) ?? 0) + 1);
  out.push(`faults: ${r.faults.length} bursts, ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  // Each reboot's recovery: from the burst's first fault until every disturbed client was back.
  const reboots = r.faults.filter((f) => f.specs.some(isReboot));
  if (reboots.length > 0) {
    out.push('reboots (at, faults, recovery):');
    for (const f of reboots) {
      out.push(
        `  ${(f.atMs / 1000).toFixed(1).padStart(6)} s  ${f.specs.join(' + ').padEnd(28)} ${f.recoveryMs === null ? 'NOT BACK' : `${f.recoveryMs} ms`}`,
      );
    }
  }
  out.push(`received blocks cut: ${r.blockCuts.silence} went silent mid-block, ${r.blockCuts.misaligned} misaligned`);
  out.push('clients:');
  for (const c of r.clients) {
    const errs =
      Object.entries(c.errors)
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ') || 'none';
    out.push(
      `  ${c.name.padEnd(9)} ${c.kind.padEnd(17)} sent ${c.sent}, acked ${c.acked}, not acked ${c.failed + c.pending}; received ${c.received} (${(c.receivedBytes / MB).toFixed(1)} MB); connections ${c.connects}, outages ${c.outages}; errors: ${errs}`,
    );
  }
  const s = r.server;
  out.push(
    `server: ${s.connections} connections, ${s.messagesIn} messages in (${(s.bytesIn / MB).toFixed(1)} MB), ${s.messagesOut} out (${(s.bytesOut / MB).toFixed(1)} MB), ${s.corrupt} corrupt`,
  );
  out.push(
    `memory: RSS warm-up ${(r.rss.baseline / MB).toFixed(1)} MB, peak ${(r.rss.peak / MB).toFixed(1)} MB, end ${(r.rss.end / MB).toFixed(1)} MB; heap used at end ${(r.heapUsedEnd / MB).toFixed(1)} MB`,
  );
  out.push('grades:');
  for (const g of r.grades) out.push(`  ${g.pass ? 'PASS' : 'FAIL'}  ${g.name}\n        ${g.detail}`);
  const replay = `npm run soak -- ${r.preset === 'ci' ? '--ci ' : ''}--seed ${r.seed} --duration ${r.durationMs / 1000}${r.baud ? ` --baud ${r.baud}` : ''}${r.latencyMs ? ` --latency ${r.latencyMs}` : ''}${r.rxMode !== 'push' ? ` --rx-mode ${r.rxMode}` : ''}`;
  out.push(`${r.pass ? 'PASS' : 'FAIL'} (seed ${r.seed}); replay: ${replay}`);
  return out.join('\n');
}
