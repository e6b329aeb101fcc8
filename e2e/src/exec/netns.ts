import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LabTimeoutError } from '../errors.js';
import { labPath } from '../tools.js';
import { sleep } from './pids.js';
import { type LabProcess, type SpawnOptions, spawnTracked } from './process.js';
import { type CommandResult, type RunOptions, run } from './run.js';

export interface ExecOptions {
  allowFail?: boolean;
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

export interface NamespaceSpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
}

/** Told about every process a namespace shell starts, so the lab can record and kill it. */
export interface ProcessSink {
  started(process: LabProcess): void;
}

// wireguard-go keeps its UAPI sockets in /var/run/wireguard, and the agent's relay link its control socket in
// /run/wirekube: neither is per network namespace. `ip netns exec` already gives each command a private mount
// namespace, so bind mounts of per-host directories there are seen by that command and its children only.
const WITH_PRIVATE_RUN_DIRS =
  'mount --bind "$0" /run/wireguard && mount --bind "$1" /run/wirekube && shift && exec "$@"';

/** The per-host directory mounted over /run/wirekube, beside the host's wireguard directory. */
export const wirekubeRunDir = (wireguardDir: string) => join(dirname(wireguardDir), 'wirekube-run');

/** Runs commands and processes inside one lab namespace. */
export class NamespaceShell {
  constructor(
    readonly netns: string,
    private readonly sink: ProcessSink,
    /** A root-namespace directory to mount over /run/wireguard for everything run here (and its sibling
     * `wirekube-run` over /run/wirekube). */
    readonly wireguardDir?: string,
  ) {}

  /** The argv that runs `argv` inside this namespace (with the private run directories when there are). */
  wrap(argv: readonly string[]): string[] {
    const inside = this.wireguardDir
      ? ['sh', '-c', WITH_PRIVATE_RUN_DIRS, this.wireguardDir, wirekubeRunDir(this.wireguardDir), ...argv]
      : argv;
    return ['ip', 'netns', 'exec', this.netns, ...inside];
  }

  private env(extra?: Record<string, string>): NodeJS.ProcessEnv {
    return { ...process.env, PATH: labPath(), ...extra };
  }

  /** Runs a command to completion; throws LabCommandError on a non-zero exit unless `allowFail`. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    const runOptions: RunOptions = { ...options, env: this.env(options.env), netns: this.netns };
    return run(this.wrap(argv), runOptions);
  }

  /** Starts a long-running process; it is killed at lab teardown if still running. */
  spawn(argv: readonly string[], options: NamespaceSpawnOptions = {}): LabProcess {
    const spawnOptions: SpawnOptions = { env: this.env(options.env), netns: this.netns };
    if (options.cwd) spawnOptions.cwd = options.cwd;
    const process = spawnTracked(this.wrap(argv), spawnOptions);
    this.sink.started(process);
    return process;
  }
}

/** Polls until `path` exists; fails early when `process` exits first. */
export async function waitForPath(path: string, process: LabProcess, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (process.done) {
      throw new LabTimeoutError(
        what,
        timeoutMs,
        `process exited early: ${process.output().trim().slice(-2000)}`,
      );
    }
    if (Date.now() > deadline) {
      await process.stop();
      throw new LabTimeoutError(what, timeoutMs, process.output().trim().slice(-2000));
    }
    await sleep(5);
  }
}

export const uapiSocket = (wireguardDir: string, iface: string) => join(wireguardDir, `${iface}.sock`);
