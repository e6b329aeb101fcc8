// @wirekube/agent: the per-node daemon. The program is src/main.ts; these exports are for embedding and tests.
export { type CleanupOptions, type CleanupReport, cleanupNode } from './cleanup/cleanup.js';
export { Agent, type AgentConfig, type AgentDeps, type KeySource } from './daemon/agent.js';
export { NetlinkDataplane } from './dataplane/netlink.js';
export type { ApplySummary, Dataplane, DeviceSnapshot } from './dataplane/types.js';
export { discoverEndpoint, NoEndpointError } from './endpoint/discover.js';
export { endpointSources } from './endpoint/sources/index.js';
export type { DiscoveryContext, Endpoint, EndpointSource } from './endpoint/types.js';
export { type AgentKubeApi, KubeAgentApi } from './kube/api.js';
export { AgentMetrics } from './metrics/metrics.js';
export { classifyNat, type StunObservation } from './nat/classify.js';
export { plan } from './plan/plan.js';
export type {
  DesiredNode,
  DesiredPeer,
  DesiredRoute,
  DesiredRule,
  ObservedPeer,
  PlanInput,
} from './plan/types.js';
export { queryStunServers } from './stun/binding.js';
