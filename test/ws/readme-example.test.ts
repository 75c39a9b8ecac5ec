/**
 * The README's LuatOS example is type-checked through test/ws/readme-luatos.ts (tsc, strict); this
 * keeps the two copies the same, so the README cannot drift away from code that compiles.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

/** The README's "### LuatOS style" ```ts block, line by line. */
function readmeBlock(): string[] {
  const lines = readFileSync(new URL('README.md', root), 'utf8').split('\n');
  const heading = lines.indexOf('### LuatOS style');
  expect(heading, 'README.md has a "### LuatOS style" section').toBeGreaterThanOrEqual(0);
  const start = lines.indexOf('```ts', heading) + 1;
  const end = lines.indexOf('```', start);
  expect(start > 0 && end > start, 'a ```ts block follows the heading').toBe(true);
  return lines.slice(start, end);
}

/** The lines between the README markers of readme-luatos.ts, without the function's indentation. */
function checkedBlock(): string[] {
  const lines = readFileSync(new URL('test/ws/readme-luatos.ts', root), 'utf8').split('\n');
  const start = lines.indexOf('  // README:BEGIN') + 1;
  const end = lines.indexOf('  // README:END');
  expect(start > 0 && end > start).toBe(true);
  return lines.slice(start, end).map((l) => (l.startsWith('  ') ? l.slice(2) : l));
}

describe('README LuatOS example', () => {
  it('is the code that test/ws/readme-luatos.ts type-checks', () => {
    expect(readmeBlock()).toEqual(checkedBlock());
  });
});
