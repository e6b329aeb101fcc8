// Builds the Go relay-link (packages/agent/native/relay-link) once per source version for the tests: `go build`
// into a directory under the OS temp dir named by a hash of the Go sources, so repeated runs and parallel test
// files reuse one binary and an edit rebuilds it. WIREKUBE_RELAY_LINK_BINARY points at a prebuilt one instead.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATIVE_SOURCE_DIR = fileURLToPath(new URL('../../native/relay-link/', import.meta.url));

/** The binary's path, or why there is none (no Go toolchain): the caller skips its Go tests with that reason. */
export type NativeBinary = { path: string } | { skip: string };

export function nativeRelayLinkBinary(): NativeBinary {
  const prebuilt = process.env['WIREKUBE_RELAY_LINK_BINARY'];
  if (prebuilt) return { path: prebuilt };
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return { skip: 'no go toolchain on PATH (set WIREKUBE_RELAY_LINK_BINARY to a built wirekube-relay-link)' };
  }
  const dir = join(tmpdir(), `wirekube-relay-link-${sourceHash()}`);
  const path = join(dir, 'wirekube-relay-link');
  if (existsSync(path)) return { path };
  mkdirSync(dir, { recursive: true });
  // Built under a name of its own and renamed into place: a parallel test file never runs a half-written binary.
  const partial = `${path}.${process.pid}`;
  execFileSync('go', ['build', '-trimpath', '-o', partial, '.'], {
    cwd: NATIVE_SOURCE_DIR,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  renameSync(partial, path);
  return { path };
}

function sourceHash(): string {
  const hash = createHash('sha256');
  const files = readdirSync(NATIVE_SOURCE_DIR)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort();
  for (const file of files) {
    hash.update(file);
    hash.update(readFileSync(join(NATIVE_SOURCE_DIR, file)));
  }
  return hash.digest('hex').slice(0, 16);
}
