export { GatewayHealthChecks, type ProbeSink } from './checks.js';
export {
  type GatewayEventSink,
  GatewayFeature,
  type GatewayFeatureDeps,
  type GatewayHook,
} from './feature.js';
export { type HealthEffect, type HealthState, initialHealth, nextHealth } from './health.js';
export { kubeGatewayFeature } from './kube.js';
export { type HealthCheckTarget, healthLeaseName, writeHealthLease } from './lease-writer.js';
export { GatewayProbeMetrics } from './metrics.js';
export { type ProbeResult, type Prober, type ProbeTarget, parseProbeTarget, systemProber } from './probe.js';
export { healthChecksFor } from './targets.js';
