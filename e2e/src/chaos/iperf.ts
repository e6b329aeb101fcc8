import type { LabHost } from '../host.js';

/** A running `iperf3 -s` in a host; `stop()` at the end. */
export function startIperfServer(host: LabHost, port: number) {
  return host.spawn(['iperf3', '-s', '-p', String(port), '-B', host.address]);
}

/** One TCP iperf3 run through whatever route `to` has (the tunnel, for a mesh address); bits per second. */
export async function iperf(from: LabHost, to: string, port: number, seconds: number): Promise<number> {
  const { stdout } = await from.exec(
    ['iperf3', '-c', to, '-p', String(port), '-t', String(seconds), '-J', '--connect-timeout', '3000'],
    { timeoutMs: (seconds + 20) * 1000 },
  );
  const result = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
  const bps = result.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3 ${from.name} → ${to}: no result in ${stdout.slice(0, 500)}`);
  return bps;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
