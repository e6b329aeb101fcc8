// The lab's public API; the contract is e2e/LAB-API.md.

export type {
  ControlPlane,
  CreateNodeOptions,
  KubectlOptions,
  ServiceAccountOptions,
} from './controlplane/index.js';
export { LabCommandError, LabError, LabSpecError, LabTimeoutError } from './errors.js';
export type { ExecOptions, NamespaceShell, NamespaceSpawnOptions } from './exec/netns.js';
export type { LabProcess } from './exec/process.js';
export type { CommandResult } from './exec/run.js';
export type { LabHost, WireguardGoOptions } from './host.js';
export type { LabNode } from './kubernetes/index.js';
export {
  type LabLoadBalancer,
  LOAD_BALANCER_ADDRESS,
  type ServiceRef,
} from './kubernetes/load-balancer.js';
export { createLab, type Lab, type LabRouter } from './lab.js';
export type { ImageFile, ImageSpec } from './registry/oci.js';
export { pushImage } from './registry/push.js';
export type { LabRegistry } from './registry/server.js';
export { STUN_ALT_PORT, STUN_PORT } from './stun/coturn.js';
export { type StunProbeResult, stunProbe } from './stun/probe.js';
export { FULL_TOPOLOGY, type TopologyTiming, timeTopology } from './timing.js';
export {
  CONTROL_PLANE_ADDRESS,
  INTERNET_PREFIXES,
  STUN_ADDRESSES,
  type TopologyPlan,
} from './topology/plan.js';
export { readdressRouterWan } from './topology/readdress.js';
export type { ControlPlaneOptions, HostSpec, LabOptions, NatKind, NodeTaint } from './topology/spec.js';
export {
  type WgInterface,
  type WgKeys,
  type WgPeer,
  wgKeys,
  wgLatestHandshakes,
  wgSetPeer,
  wgUp,
} from './wireguard.js';
