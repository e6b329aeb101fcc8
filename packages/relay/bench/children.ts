// What the path benches (proxy-path.ts, hops.ts) share: child processes that report one JSON line when ready,
// loopback UDP sockets standing in for WireGuard, per-process CPU time, medians.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const TICKS_PER_SECOND = 100;

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Nearest-rank percentile; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50) {
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** User+system CPU milliseconds of a process so far (/proc/<pid>/stat utime+stime). */
export function cpuMs(pid: number): number {
  const { userMs, systemMs } = cpuSplitMs(pid);
  return userMs + systemMs;
}

/** User and system CPU milliseconds of a process so far, apart. */
export function cpuSplitMs(pid: number): { userMs: number; systemMs: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return {
    userMs: (Number(fields[11]) * 1000) / TICKS_PER_SECOND,
    systemMs: (Number(fields[12]) * 1000) / TICKS_PER_SECOND,
  };
}

export interface Child {
  child: ChildProcess;
  /** The JSON line the child printed when it became usable. */
  ready: Record<string, unknown>;
}

/** Starts `node <args>` and waits for its first JSON line that has `key`. */
export function startChild(args: string[], key: string, nodeFlags: string[] = []): Promise<Child> {
  return startProgram(process.execPath, [...nodeFlags, ...args], key);
}

/** Starts any program (e.g. bench/raw-go's binary) and waits for its first JSON line that has `key`. */
export async function startProgram(
  command: string,
  args: string[],
  key: string,
  env: Record<string, string> = {},
): Promise<Child> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed[key] !== undefined) {
        // Leaving the loop closes the readline interface: keep reading the pipe, or a child that logs blocks
        // (pino writes synchronously) once the pipe buffer is full.
        child.stdout!.on('data', () => undefined);
        return { child, ready: parsed };
      }
    } catch {
      // Not JSON: a log line.
    }
  }
  throw new Error(`child ${args.join(' ')} exited before reporting ${key}`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** A loopback UDP socket with the 4 MiB buffers the proxy asks for. */
export async function udpSocket(): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}
