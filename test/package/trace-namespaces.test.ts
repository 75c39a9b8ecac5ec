/**
 * Trace namespaces are per component (one can switch on the supervisor without every socket's
 * chatter), and README names each one that exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Namespace → files that create it (literal namespaces; templates like `air780:ws:${n}` are named by hand in README). */
function namespaces(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/createDebug\('([^']+)'\)/g))
      out.set(m[1]!, [...(out.get(m[1]!) ?? []), file.slice(ROOT.length + 1)]);
  }
  return out;
}

describe('trace namespaces', () => {
  it('each is created by at most two files (a component, not a layer)', () => {
    const shared = [...namespaces()].filter(([, files]) => files.length > 2);
    expect(shared).toEqual([]);
  });

  it('README names every one', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const missing = [...namespaces().keys()].filter((ns) => !readme.includes(`\`${ns}\``));
    expect(missing).toEqual([]);
  });
});
