import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabProcess } from '../exec/process.js';
import type { LabHost } from '../host.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(here, '..', '..', '..');

/** What one target received from the fuzzer: connections made, attempts per kind, hang-ups, bytes. */
export type FuzzCounts = Record<string, number>;

export interface RelayFuzzer {
  readonly process: LabProcess;
  /** Resolves once it runs (its signal handlers are installed). */
  ready(): Promise<void>;
  /** Stops feeding (open attempts finish) until `aim()`. */
  pause(): void;
  /** Feeds `target` from now on: the relay, or the discard sink given to `startRelayFuzzer`. */
  aim(target: 'relay' | 'sink'): void;
  /** Stops the fuzzer and returns its counts per target. */
  stop(): Promise<{ relay: FuzzCounts; sink: FuzzCounts }>;
}

const tsx = (script: string, args: readonly string[]) => [
  globalThis.process.execPath,
  '--import',
  'tsx',
  join(here, script),
  ...args,
];

async function waitForLine(process: LabProcess, line: string, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!process.output().includes(line)) {
    if (process.done || Date.now() > deadline)
      throw new Error(`${what} did not start:\n${process.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `relay-fuzzer.ts` in `from`: `connections` TCP connections feeding bad frames to the relay, or (after
 * `aim('sink')`) the same attempts at the same rate to a discard sink.
 */
export function startRelayFuzzer(
  from: LabHost,
  relay: { host: string; port: number },
  connections = 50,
  sink?: { host: string; port: number },
): RelayFuzzer {
  const process = from.spawn(
    tsx('relay-fuzzer.ts', [
      relay.host,
      String(relay.port),
      String(connections),
      ...(sink ? [sink.host, String(sink.port)] : []),
    ]),
    { cwd: REPO_ROOT },
  );
  const signal = (name: NodeJS.Signals) => {
    if (!process.done) globalThis.process.kill(process.pid, name);
  };
  return {
    process,
    ready: () => waitForLine(process, 'fuzzer ready', 'relay fuzzer'),
    pause: () => signal('SIGUSR1'),
    aim(target) {
      if (target === 'sink' && !sink) throw new Error('relay fuzzer: started without a sink');
      signal(target === 'relay' ? 'SIGUSR2' : 'SIGHUP');
    },
    async stop() {
      signal('SIGTERM');
      await process.exited;
      const last = process.output().trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as { relay: FuzzCounts; sink: FuzzCounts };
      } catch {
        throw new Error(`relay fuzzer printed no counts:\n${process.output().slice(-2000)}`);
      }
    },
  };
}

export interface DiscardSink {
  readonly process: LabProcess;
  readonly address: { host: string; port: number };
  ready(): Promise<void>;
  /** Stops it and returns what it received. */
  stop(): Promise<{ connections: number; bytes: number }>;
}

/** Runs `discard-sink.ts` in `host` on `port`: reads every connection and drops the bytes. */
export function startDiscardSink(host: LabHost, port: number): DiscardSink {
  const process = host.spawn(tsx('discard-sink.ts', [host.address, String(port)]), { cwd: REPO_ROOT });
  return {
    process,
    address: { host: host.address, port },
    ready: () => waitForLine(process, 'sink ready', 'discard sink'),
    async stop() {
      if (!process.done) globalThis.process.kill(process.pid, 'SIGTERM');
      await process.exited;
      const last = process.output().trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as { connections: number; bytes: number };
      } catch {
        throw new Error(`discard sink printed no counts:\n${process.output().slice(-2000)}`);
      }
    },
  };
}
