import { Counter, Histogram, type Registry } from 'prom-client';
import type { ProbeSink } from './checks.js';
import type { HealthCheckTarget } from './lease-writer.js';
import type { ProbeResult } from './probe.js';

/** Gateway probe latency and failures, measured on the gateway node, in the agent's Registry. */
export class GatewayProbeMetrics implements ProbeSink {
  private readonly latency: Histogram<'gateway' | 'result'>;
  private readonly failures: Counter<'gateway'>;

  constructor(registry: Registry) {
    this.latency = new Histogram({
      name: 'wirekube_gateway_probe_duration_seconds',
      help: 'Gateway health probe duration by result.',
      labelNames: ['gateway', 'result'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'wirekube_gateway_probe_failures_total',
      help: 'Failed gateway health probes.',
      labelNames: ['gateway'],
      registers: [registry],
    });
  }

  observe(check: HealthCheckTarget, result: ProbeResult): void {
    this.latency.observe(
      { gateway: check.gateway, result: result.ok ? 'success' : 'failure' },
      result.latencyMs / 1000,
    );
    if (!result.ok) this.failures.inc({ gateway: check.gateway });
  }
}
