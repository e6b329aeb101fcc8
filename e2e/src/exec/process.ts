import { type ChildProcess, spawn } from 'node:child_process';
import { LabCommandError } from '../errors.js';
import { isAlive, sleep } from './pids.js';

/** A long-running process started in the lab. Killed at lab teardown if still running. */
export interface LabProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** Whether the process has exited. */
  readonly done: boolean;
  /** Captured stdout and stderr so far, interleaved in arrival order. */
  output(): string;
  /** SIGTERM to its process group, SIGKILL after `graceMs` (at once when 0); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Only for messages: the namespace it runs in. */
  netns?: string;
  /** Keep at most this many bytes of output (the newest); default 1 MiB. */
  maxOutputBytes?: number;
}

const DEFAULT_MAX_OUTPUT = 1 << 20;

class TrackedProcess implements LabProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  done = false;
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(
    readonly argv: readonly string[],
    child: ChildProcess,
    private readonly maxBytes: number,
  ) {
    if (child.pid === undefined) throw new Error('spawned child has no pid');
    this.pid = child.pid;
    const keep = (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      while (this.bytes > this.maxBytes && this.chunks.length > 1) {
        this.bytes -= this.chunks.shift()?.length ?? 0;
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.done = true;
        resolve(code);
      });
    });
  }

  output(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  async stop(graceMs = 2000): Promise<void> {
    if (this.done) return;
    if (graceMs <= 0) {
      signalGroup(this.pid, 'SIGKILL');
      await this.exited;
      return;
    }
    signalGroup(this.pid, 'SIGTERM');
    const killed = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!killed) {
      signalGroup(this.pid, 'SIGKILL');
      await this.exited;
    }
    // Children that ignored SIGTERM but live on in the group (the leader is gone) get SIGKILL too.
    if (isAlive(this.pid)) signalGroup(this.pid, 'SIGKILL');
  }
}

/** Signals a process group we created (the child was spawned detached, so its PID is its group id). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts a long-running process in its own process group (so teardown can kill what it forks too) with its
 * output captured. Synchronous, as the LabProcess contract wants: a program that cannot start shows up as an
 * exit with code null and the reason in output().
 */
export function spawnTracked(argv: readonly string[], options: SpawnOptions = {}): LabProcess {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('spawn: empty argv');
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.on('error', (error) => {
    child.stderr?.emit('data', Buffer.from(`spawn failed: ${error.message}\n`));
  });
  if (child.pid === undefined)
    throw new LabCommandError(argv, null, '', 'could not start', options.netns, null);
  child.unref();
  return new TrackedProcess(argv, child, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
}
