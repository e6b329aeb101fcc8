// Builds the Go relay-link (packages/agent/native/relay-link) once per source version for the tests: native/build.sh
// into a directory under the OS temp dir named by a hash of the Go sources, so repeated runs and parallel test
// files reuse one binary and an edit rebuilds it. WIREKUBE_RELAY_LINK_BINARY points at a prebuilt one instead.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answers } from '../../src/relay-link/server.js';

export const NATIVE_SOURCE_DIR = fileURLToPath(new URL('../../native/relay-link/', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../native/build.sh', import.meta.url));

/** The binary's path, or why there is none (no Go toolchain): the caller skips its Go tests with that reason. */
export type NativeBinary = { path: string } | { skip: string };

export function nativeRelayLinkBinary(): NativeBinary {
  const prebuilt = process.env['WIREKUBE_RELAY_LINK_BINARY'];
  if (prebuilt) return { path: prebuilt };
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return {
      skip: 'no go toolchain on PATH (set WIREKUBE_RELAY_LINK_BINARY to a built wirekube-relay-link)',
    };
  }
  const dir = join(tmpdir(), `wirekube-relay-link-${sourceHash()}`);
  const path = join(dir, 'wirekube-relay-link');
  if (existsSync(path)) return { path };
  mkdirSync(dir, { recursive: true });
  // Built under a name of its own and renamed into place: a parallel test file never runs a half-written binary.
  // native/build.sh (scripts/build-go.sh) is the one place the build flags live; the build-native targets run it too.
  const partial = `${path}.${process.pid}`;
  try {
    execFileSync('bash', [BUILD_SCRIPT, partial], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    // A Go toolchain that cannot build the sources is a failure to see, not a reason to skip.
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`${BUILD_SCRIPT} failed: ${stderr || (error as Error).message}`);
  }
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

/** Starts the Go relay-link on `socketPath` and resolves once its socket answers. */
export async function startNative(binary: string, socketPath: string): Promise<ChildProcess> {
  const child = spawn(binary, ['relay-link', '--socket', socketPath, '--log-level', 'silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 10_000;
  while (!(await answers(socketPath, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Go relay-link did not serve ${socketPath} (exit ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

/** SIGTERM and wait for the exit (the relay-link closes its relay connection and sockets on the way out). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
