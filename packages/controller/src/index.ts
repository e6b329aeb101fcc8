/**
 * @wirekube/controller: the cluster-wide, leader-elected WireKube decisions — gateway election and status,
 * mesh status counts, garbage collection of WireKubePeers whose Node is gone. The program is
 * `wirekube-controller` (dist/main.js); the pure planners are exported for reuse and tests.
 *
 * @example
 * ```ts
 * import { planGateway } from '@wirekube/controller';
 *
 * const plan = planGateway(gateway, peers, healthLeases, Date.now());
 * if (plan.changed) await patchStatus(gateway, plan.status);
 * for (const e of plan.events) await recordEvent(gateway, e.type, e.reason, e.message);
 * ```
 */
export { Controller, type ControllerConfig, type ControllerDeps } from './controller.js';
export { type Election, type ElectionReason, elect } from './gateway/election.js';
export { type GatewayPlan, planGateway } from './gateway/plan.js';
export { type GatewayEvent, planGatewayStatus } from './gateway/status.js';
export { type PeerGcPlan, planPeerGc } from './gc/peers.js';
export { type ControllerCache, ControllerCluster, type ControllerWriter } from './kube/cluster.js';
export { type MeshStatusPlan, planMeshStatus } from './mesh/status.js';
