import { accessSync, constants, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDetached } from '@wirekube/netlink';
import type { Logger } from 'pino';
import {
  chooseRelayLink,
  RELAY_LINK_BINARY_ENV,
  type RelayLinkChoice,
  SHIPPED_RELAY_LINK,
} from './implementation.js';
import { answers } from './server.js';

/** The shipped Go relay-link: this module is src/relay-link/ or dist/relay-link/, two below the package root. */
export const SHIPPED_RELAY_LINK_PATH = fileURLToPath(new URL(`../../${SHIPPED_RELAY_LINK}`, import.meta.url));

export interface RelayLinkSpawnOptions {
  socketPath: string;
  /** The program and its leading arguments; default chosen by `chooseRelayLink` (implementation.ts): the Go
   * relay-link (WIREKUBE_RELAY_LINK_BINARY's path, else the shipped native/bin binary) or, with
   * WIREKUBE_RELAY_LINK_BINARY=node or no usable binary, this very program (`node dist/main.js`). */
  command?: readonly string[];
  /** Where WIREKUBE_RELAY_LINK_BINARY is read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The shipped Go binary to look for; default SHIPPED_RELAY_LINK_PATH. */
  shippedBinary?: string;
  /** Told once, when the default command is chosen, which implementation and why (`relay-link-implementation`). */
  log?: Logger;
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
 * Starts `<relay-link program> relay-link --socket PATH` (the Go binary or `wirekube-agent`) detached from this
 * process (its own session, no pipe to us), exactly as wireguard-go is started, so that it outlives the agent;
 * resolves once its socket answers. The program is chosen once, here.
 */
export function relayLinkSpawner(options: RelayLinkSpawnOptions): () => Promise<{ pid: number | undefined }> {
  const base = options.command ?? defaultCommand(options);
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

function defaultCommand(options: RelayLinkSpawnOptions): readonly string[] {
  const shipped = options.shippedBinary ?? SHIPPED_RELAY_LINK_PATH;
  const choice = chooseRelayLink({
    binary: (options.env ?? process.env)[RELAY_LINK_BINARY_ENV],
    shipped: { path: shipped, executable: isExecutableFile(shipped) },
    node: [process.execPath, process.argv[1] ?? ''],
  });
  options.log?.info(
    { event: 'relay-link-implementation', ...choiceFields(choice), shipped },
    `relay-link implementation: ${choice.implementation} (${choice.reason})`,
  );
  return choice.command;
}

function choiceFields(choice: RelayLinkChoice): { implementation: string; reason: string; path: string } {
  // For the Node one the program is this agent's own main.js.
  const path = choice.implementation === 'go' ? choice.command[0] : choice.command[1];
  return { implementation: choice.implementation, reason: choice.reason, path: path ?? '' };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
