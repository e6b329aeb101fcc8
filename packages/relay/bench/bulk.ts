// The bulk phase of the path benches (proxy-path.ts, hops.ts): WireGuard-sized datagrams one way, A → B, through
// whatever path sits between two loopback sockets, with the CPU each process on the path spent per GB delivered.
import type { Socket } from 'node:dgram';
import { loadavg } from 'node:os';
import { cpuSplitMs } from './children.js';

export const DATAGRAM = 1452;
const BURST = 32;
export const WINDOW = Number(process.env.BENCH_WINDOW ?? 256);

export interface BulkPath {
  wgA: Socket;
  wgB: Socket;
  /** Where wg A sends to reach B. */
  toB: number;
  /** The processes on the path: sender's agent, receiver's agent, relay. */
  pids: [number, number, number];
}

export interface BulkResult {
  mbps: number;
  lossPerMille: number;
  senderAgentCpuMsPerGB: number;
  receiverAgentCpuMsPerGB: number;
  relayCpuMsPerGB: number;
  load1: number;
}

export interface BulkRunResult extends BulkResult {
  /** The kernel's share (syscalls, TCP, loopback): what a faster language cannot take away. */
  senderAgentSystemMsPerGB: number;
  receiverAgentSystemMsPerGB: number;
  relaySystemMsPerGB: number;
}

/** Bulk one way, A → B, for `seconds`: at most WINDOW datagrams in flight, sent in bursts of BURST. */
export async function bulkRun(path: BulkPath, seconds: number): Promise<BulkRunResult> {
  const payload = Buffer.alloc(DATAGRAM, 0x04);
  let sent = 0;
  let received = 0;
  let stopped = false;
  const top = () => {
    if (stopped) return;
    while (sent - received < WINDOW) {
      for (let i = 0; i < BURST; i++) path.wgA.send(payload, path.toB, '127.0.0.1');
      sent += BURST;
    }
  };
  // Lost datagrams would shrink the window for good: after 10 ms without progress, count the rest as lost.
  let lost = 0;
  let progressAt = received;
  const refill = setInterval(() => {
    if (received === progressAt) {
      lost += sent - received - lost;
      received += sent - received;
      top();
    }
    progressAt = received;
  }, 10);
  let arrived = 0;
  const onMessage = () => {
    arrived++;
    received++;
    if (sent - received <= WINDOW - BURST) top();
  };
  path.wgB.on('message', onMessage);
  const pids = path.pids;
  top();
  await new Promise((resolve) => setTimeout(resolve, 300));
  let delivered = 0;
  const count = () => delivered++;
  path.wgB.on('message', count);
  const cpuBefore = pids.map(cpuSplitMs);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - start) / 1000;
  const split = pids.map((pid, i) => {
    const now = cpuSplitMs(pid);
    return { userMs: now.userMs - cpuBefore[i]!.userMs, systemMs: now.systemMs - cpuBefore[i]!.systemMs };
  });
  const cpu = split.map(({ userMs, systemMs }) => userMs + systemMs);
  path.wgB.off('message', count);
  stopped = true;
  clearInterval(refill);
  // What is still queued along the path arrives late, not never.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  path.wgB.off('message', onMessage);
  const gb = (delivered * DATAGRAM) / 1e9;
  return {
    mbps: (delivered * DATAGRAM * 8) / elapsed / 1e6,
    // Datagrams that never arrived, per thousand sent (the path drops rather than queue without bound).
    lossPerMille: (1000 * (sent - arrived)) / sent,
    senderAgentCpuMsPerGB: cpu[0]! / gb,
    receiverAgentCpuMsPerGB: cpu[1]! / gb,
    relayCpuMsPerGB: cpu[2]! / gb,
    senderAgentSystemMsPerGB: split[0]!.systemMs / gb,
    receiverAgentSystemMsPerGB: split[1]!.systemMs / gb,
    relaySystemMsPerGB: split[2]!.systemMs / gb,
    load1: loadavg()[0] ?? 0,
  };
}

/** The same run, typed as its totals (what proxy-path reads). */
export const throughput: (path: BulkPath, seconds: number) => Promise<BulkResult> = bulkRun;
