import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { answers } from './server.js';

export interface RelayLinkSpawnOptions {
  socketPath: string;
  /** The program and its leading arguments; default this very program (`node dist/main.js`). */
  command?: readonly string[];
  /** Where its pino output goes (appended); default discarded — a detached child must not write to the pipe of
   * an agent container that may be gone. */
  logPath?: string;
  logLevel?: string;
  /** How long to wait for its socket to answer; default 30 s (Node start-up on a loaded node). */
  readyTimeoutMs?: number;
}

/** The relay-link process could not be started; says why and with what. */
export class RelayLinkSpawnError extends Error {
  constructor(
    message: string,
    readonly context: { command: readonly string[]; socketPath: string; logPath?: string },
  ) {
    super(`relay-link ${context.socketPath}: ${message}`);
    this.name = 'RelayLinkSpawnError';
  }
}

/**
 * Starts `wirekube-agent relay-link --socket PATH` detached from this process (its own session, no pipe to us),
 * exactly as wireguard-go is started, so that it outlives the agent; resolves once its socket answers.
 */
export function relayLinkSpawner(options: RelayLinkSpawnOptions): () => Promise<{ pid: number | undefined }> {
  const base = options.command ?? [process.execPath, process.argv[1] ?? ''];
  const command = [
    ...base,
    'relay-link',
    '--socket',
    options.socketPath,
    ...(options.logLevel ? ['--log-level', options.logLevel] : []),
  ];
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const context = {
    command,
    socketPath: options.socketPath,
    ...(options.logPath ? { logPath: options.logPath } : {}),
  };
  return async () => {
    const output = options.logPath ? openSync(options.logPath, 'a') : 'ignore';
    const [program, ...args] = command;
    const child = spawn(program ?? '', args, { detached: true, stdio: ['ignore', output, output] });
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
    });
    child.on('error', (error) => {
      spawnError = error;
    });
    child.unref();
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (spawnError || exited) break;
      if (await answers(options.socketPath, 500)) return { pid: child.pid };
      await sleep(50);
    }
    if (!exited && !spawnError) child.kill('SIGTERM');
    const reason = spawnError
      ? spawnError.message
      : exited
        ? `exited (code ${exited.code}, signal ${exited.signal})`
        : `socket not answering after ${readyTimeoutMs} ms`;
    throw new RelayLinkSpawnError(reason, context);
  };
}
