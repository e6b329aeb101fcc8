export * from './constants.js';
export { type KubeSchema, toKubernetesSchema } from './crd/kubernetes-schema.js';
export { crdFileName, crdManifest, renderAllCrds, renderCrdYaml } from './crd/render.js';
export { type ResolvedMeshSpec, resolveMeshSpec, withDefaults } from './defaults.js';
export {
  GATEWAY_LEASE,
  type GatewayHealthReport,
  gatewayLeaseDurationSeconds,
  gatewayLeaseName,
  type HealthLeaseLike,
  readGatewayHealthLease,
} from './gateway-lease.js';
export {
  gatewayKind,
  KINDS,
  type KindDefinition,
  type KindName,
  meshKind,
  type ObjectMeta,
  type PrinterColumn,
  peerKind,
  type WireKubeGateway,
  type WireKubeMesh,
  type WireKubePeer,
} from './kinds.js';
export { type CelRule, HOST_PORT_PATTERN, IPV4_CIDR_PATTERN } from './schema/common.js';
export * from './schema/gateway.js';
export * from './schema/mesh.js';
export * from './schema/peer.js';
export { isCidr } from './validation/formats.js';
export {
  assertValid,
  type FieldError,
  validate,
  validateSpec,
  WireKubeValidationError,
} from './validation/validate.js';
