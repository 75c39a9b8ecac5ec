/**
 * Runtime dependencies are exactly what shipped code (src/) imports, and README says what each is
 * for: an unused or test-only package in `dependencies` is installed by every user for nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.c?ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Package names of the static imports and re-exports (value or type: declarations name types too). */
function staticImports(text: string): string[] {
  const names = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map((m) => m[1]!);
  return names
    .filter((n) => !n.startsWith('.') && !n.startsWith('node:') && !builtinModules.includes(n))
    .map((n) => (n.startsWith('@') ? n.split('/').slice(0, 2).join('/') : n.split('/')[0]!));
}

describe('package.json dependencies', () => {
  const imported = new Map<string, string[]>();
  for (const file of sources(join(ROOT, 'src'))) {
    for (const name of staticImports(readFileSync(file, 'utf8')))
      imported.set(name, [...(imported.get(name) ?? []), file.slice(ROOT.length + 1)]);
  }

  it('every runtime dependency is imported by shipped code', () => {
    const unused = Object.keys(pkg.dependencies).filter((d) => !imported.has(d));
    expect(unused).toEqual([]);
  });

  it('every package shipped code imports is a runtime dependency (or a peer dependency the user installs)', () => {
    const missing = [...imported.keys()].filter(
      (d) => !(d in pkg.dependencies) && !(d in (pkg.peerDependencies ?? {})),
    );
    expect(missing, JSON.stringify(Object.fromEntries(missing.map((m) => [m, imported.get(m)])))).toEqual([]);
  });

  it("README's Dependencies section says what each runtime dependency is for", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = /^## Dependencies\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    for (const d of Object.keys(pkg.dependencies))
      expect(section, d).toMatch(new RegExp(`^- \`${d.replace(/[/.]/g, '\\$&')}\`: \\S`, 'm'));
  });
});
