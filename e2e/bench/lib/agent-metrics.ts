/** An agent's own /metrics (port 9543 inside its lab host) and its process's resident memory. */
import { readFileSync } from 'node:fs';
import type { LabHost } from '../../src/index.js';
import { parseMetrics, type Sample } from './prom.js';

const FETCH = "fetch('http://127.0.0.1:9543/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))";

export async function agentMetrics(host: LabHost): Promise<Sample[]> {
  const { stdout } = await host.exec(['node', '-e', FETCH], { timeoutMs: 20_000 });
  return parseMetrics(stdout);
}

export function metricValue(samples: readonly Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
}

/** VmRSS of a process, in MiB. */
export function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}
