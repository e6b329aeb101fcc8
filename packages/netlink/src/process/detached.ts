import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DetachedStart {
  /** The program and its arguments. */
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Where its output goes (appended); default discarded — a detached child must not write to the pipe of a
   * parent (an agent container) that may be gone. */
  logPath?: string;
  /** True once the child serves (its socket answers). */
  ready(): Promise<boolean>;
  readyTimeoutMs: number;
  /** How often `ready` is asked. */
  pollMs: number;
}

export type DetachedResult =
  | { ok: true; pid: number | undefined }
  | { ok: false; reason: string; code?: string };

/**
 * Starts a process in its own session with no pipe to this one, so that it outlives this process (wireguard-go,
 * the agent's relay link), and waits until it serves. A child that never gets ready is sent SIGTERM; the result
 * says why it failed, for the caller's own typed error.
 */
export async function startDetached(start: DetachedStart): Promise<DetachedResult> {
  const output = start.logPath ? openSync(start.logPath, 'a') : 'ignore';
  const [program, ...args] = start.argv;
  const child = spawn(program ?? '', args, {
    detached: true,
    stdio: ['ignore', output, output],
    ...(start.env ? { env: start.env } : {}),
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.on('error', (error) => {
    spawnError = error;
  });
  child.unref();
  const deadline = Date.now() + start.readyTimeoutMs;
  while (Date.now() < deadline) {
    if (spawnError || exited) break;
    if (await start.ready()) return { ok: true, pid: child.pid };
    await sleep(start.pollMs);
  }
  if (!exited && !spawnError) child.kill('SIGTERM');
  if (spawnError)
    return { ok: false, reason: spawnError.message, ...(spawnError.code ? { code: spawnError.code } : {}) };
  if (exited) return { ok: false, reason: `exited (code ${exited.code}, signal ${exited.signal})` };
  return { ok: false, reason: `not ready after ${start.readyTimeoutMs} ms` };
}
