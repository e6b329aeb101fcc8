import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabProcess } from '../exec/process.js';
import type { LabHost } from '../host.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(here, '..', '..', '..');

export interface RelayFuzzer {
  readonly process: LabProcess;
  /** Resolves once it runs (its signal handlers are installed). */
  ready(): Promise<void>;
  /** Stops feeding (open attempts finish) until `resume()`. */
  pause(): void;
  resume(): void;
  /** Stops the fuzzer and returns its counts (connections made, kinds sent, hang-ups by the relay). */
  stop(): Promise<Record<string, number>>;
}

/** Runs `relay-fuzzer.ts` in `from`: `connections` TCP connections feeding the relay bad frames. */
export function startRelayFuzzer(
  from: LabHost,
  relay: { host: string; port: number },
  connections = 50,
): RelayFuzzer {
  const process = from.spawn(
    [
      globalThis.process.execPath,
      '--import',
      'tsx',
      join(here, 'relay-fuzzer.ts'),
      relay.host,
      String(relay.port),
      String(connections),
    ],
    { cwd: REPO_ROOT },
  );
  return {
    process,
    async ready() {
      const deadline = Date.now() + 30_000;
      while (!process.output().includes('fuzzer ready')) {
        if (process.done || Date.now() > deadline)
          throw new Error(`relay fuzzer did not start:\n${process.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    pause() {
      if (!process.done) globalThis.process.kill(process.pid, 'SIGUSR1');
    },
    resume() {
      if (!process.done) globalThis.process.kill(process.pid, 'SIGUSR2');
    },
    async stop() {
      if (!process.done) globalThis.process.kill(process.pid, 'SIGTERM');
      await process.exited;
      const last = process.output().trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as Record<string, number>;
      } catch {
        throw new Error(`relay fuzzer printed no counts:\n${process.output().slice(-2000)}`);
      }
    },
  };
}
