// `@wirekube/netlink/net` is what pure planners may import: nothing reachable from it may open a socket or load
// a native module. This walks its real import graph, so a new import anywhere below it is caught.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const netDir = join(src, 'net');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] as string,
  );
}

function graph(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else external.add(specifier);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(src, f)).sort(), external: [...external].sort() };
}

describe('@wirekube/netlink/net', () => {
  it('reaches only pure data files: no node: module, no package (no socket, no native code)', () => {
    const { files, external } = graph(join(netDir, 'index.ts'));
    expect(external).toEqual([]);
    expect(files).toEqual([
      'iptables/model.ts',
      'iptables/rules.ts',
      'net/index.ts',
      'net/ip.ts',
      'net/key.ts',
      'net/sysctls.ts',
    ]);
  });

  it('is a declared subpath of the package', () => {
    const pkg = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as {
      exports: Record<string, { import: string }>;
    };
    expect(pkg.exports['./net']?.import).toBe('./dist/net/index.js');
    expect(pkg.exports['./internals']?.import).toBe('./dist/internals.js');
  });
});
