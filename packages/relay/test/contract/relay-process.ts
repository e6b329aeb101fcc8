/**
 * One relay program as a child process on loopback: started with ephemeral ports, read through its `started` log
 * line, scraped over HTTP, and always killed by PID when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { RelayImplementation } from './implementations.js';

export type LogLine = Record<string, unknown>;

export interface RelayProcess {
  readonly port: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  /** Every JSON line it wrote to stdout so far. */
  readonly lines: LogLine[];
  /** GET a path of its HTTP server. */
  http(path: string): Promise<Response>;
  /** The value of one sample of /metrics (`name` with its labels as written, e.g. `x{reason="self"}`), or undefined. */
  metric(sample: string): Promise<number | undefined>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const LOOPBACK = ['--listen-address', '127.0.0.1', '--http-address', '127.0.0.1'];

export async function startRelayProcess(
  implementation: RelayImplementation,
  flags: readonly string[],
  cleanups: Array<() => unknown>,
): Promise<RelayProcess> {
  const [program, ...args] = implementation.command([
    '--port',
    '0',
    '--http-port',
    '0',
    ...LOOPBACK,
    ...flags,
  ]);
  const child = spawn(program!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Listened for at once: 'exit' cannot have fired before the next turn of the event loop.
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exit;
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines: LogLine[] = [];
  const started = new Promise<LogLine>((resolve, reject) => {
    const reader = createInterface({ input: child.stdout! });
    reader.on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        reject(new Error(`${implementation.name}: stdout line is not JSON: ${line}`));
        return;
      }
      lines.push(parsed);
      if (parsed.event === 'started') resolve(parsed);
    });
    void exit.then((code) =>
      reject(new Error(`${implementation.name} exited (${code}) before it started: ${stderr}`)),
    );
  });
  const line = await started;
  const port = line.port as number;
  const httpPort = line.httpPort as number;
  const http = (path: string) => fetch(`http://127.0.0.1:${httpPort}${path}`);
  return {
    port,
    httpPort,
    child,
    lines,
    http,
    async metric(sample) {
      const text = await (await http('/metrics')).text();
      for (const row of text.split('\n')) {
        if (row.startsWith(`${sample} `)) return Number(row.slice(sample.length + 1));
      }
      return undefined;
    },
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exit;
    },
  };
}
