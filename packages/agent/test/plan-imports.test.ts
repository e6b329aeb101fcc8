// DESIGN.md house rule: the planner is pure. Every file under src/plan may import other plan files, the API
// types, and netlink's socket-free subpath — nothing that can reach a socket, a file or a native module.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const planDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'plan');
const ALLOWED_PACKAGES = new Set(['@wirekube/crd-types', '@wirekube/netlink/net']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Static imports and re-exports, and dynamic `import('…')`, with the file that makes them. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const fromClauses = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gm)];
  const bare = [...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)];
  const dynamic = [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return [...fromClauses, ...bare, ...dynamic].map((m) => m[1] as string);
}

describe('agent/src/plan imports', () => {
  const files = sourceFiles(planDir);

  it('finds the planner', () => {
    expect(files.map((f) => relative(planDir, f))).toContain('plan.ts');
  });

  it.each(files.map((f) => [relative(planDir, f), f] as const))(
    '%s imports only plan files, @wirekube/crd-types and @wirekube/netlink/net',
    (_name, file) => {
      const offending = importsOf(file).filter((specifier) => {
        if (specifier.startsWith('./')) return false;
        if (specifier.startsWith('../')) return !resolve(dirname(file), specifier).startsWith(planDir);
        return !ALLOWED_PACKAGES.has(specifier);
      });
      expect(offending).toEqual([]);
    },
  );
});
