import { startDetached } from '@wirekube/netlink';
import { answers } from './server.js';

export interface RelayLinkSpawnOptions {
  socketPath: string;
  /** The program and its leading arguments; default the Go relay-link when WIREKUBE_RELAY_LINK_BINARY names one
   * (packages/agent/native/relay-link, same socket protocol and arguments), else this very program
   * (`node dist/main.js`). */
  command?: readonly string[];
  /** Where the default command is looked up; default process.env. */
  env?: NodeJS.ProcessEnv;
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
  const binary = (options.env ?? process.env)['WIREKUBE_RELAY_LINK_BINARY'];
  // Opt-in while the Go relay-link is proven in the lab (issue #10's speed targets); the Node one stays the default.
  const base = options.command ?? (binary ? [binary] : [process.execPath, process.argv[1] ?? '']);
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
    const started = await startDetached({
      argv: command,
      ...(options.logPath ? { logPath: options.logPath } : {}),
      ready: () => answers(options.socketPath, 500),
      readyTimeoutMs,
      pollMs: 50,
    });
    if (started.ok) return { pid: started.pid };
    const reason = started.reason.startsWith('not ready') ? `socket ${started.reason}` : started.reason;
    throw new RelayLinkSpawnError(reason, context);
  };
}
