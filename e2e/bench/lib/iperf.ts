/** iperf3 between two lab hosts: received throughput of one TCP test, in Mbit/s. */
import type { LabHost, LabProcess } from '../../src/index.js';

export function iperfServer(host: LabHost, bind: string): LabProcess {
  return host.spawn(['iperf3', '-s', '-B', bind]);
}

export async function iperf(client: LabHost, server: string, seconds: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const result = await client.exec(['iperf3', '-c', server, '-t', String(seconds), '-J'], {
      allowFail: true,
      timeoutMs: (seconds + 30) * 1000,
    });
    if (result.code === 0) {
      const report = JSON.parse(result.stdout) as { end: { sum_received: { bits_per_second: number } } };
      return report.end.sum_received.bits_per_second / 1e6;
    }
    // The server may still be starting, or busy with the previous client for a moment.
    if (attempt >= 5) throw new Error(`iperf3 to ${server} failed: ${result.stdout}${result.stderr}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
