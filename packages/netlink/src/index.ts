// @wirekube/netlink: the node's kernel surface. See README.md for the API tour.
export * from './errors.js';
export * from './iptables/model.js';
export { type IptablesPlan, planTable } from './iptables/plan.js';
export { DEFAULT_TAG, type IptablesReconcileResult, IptablesRules } from './iptables/reconcile.js';
export {
  type GatewayNatOptions,
  gatewayMasquerade,
  gatewaySnat,
  RELAY_LOOPBACK_COMMENT,
  relayLoopbackAccept,
} from './iptables/rules.js';
export { type CommandRunnerOptions, commandRunner, type IptablesRunner } from './iptables/runner.js';
export { normalizeArgs, parseSave, ruleArgs } from './iptables/save-format.js';
export * from './keys/x25519.js';
export * from './net/ip.js';
export * as nlattr from './nla/attributes.js';
export {
  type NetworkSurface,
  type OpenedWireGuard,
  type OpenWireGuardOptions,
  openNetwork,
  openWireGuard,
} from './open.js';
export { Addresses, type AddressInfo } from './rtnl/addresses.js';
export { type LinkInfo, Links } from './rtnl/links.js';
export { planRoutes, type RoutePlan, RouteTable, type TableReconcileResult } from './rtnl/route-table.js';
export { type RouteInfo, type RouteScope, type RouteSpec, Routes } from './rtnl/routes.js';
export {
  planRules,
  type RuleInfo,
  type RulePlan,
  RuleSet,
  type RuleSpec,
  Rules,
  ruleKey,
} from './rtnl/rules.js';
export { openRtnl, type RtnlConnection, type RtnlSocket } from './rtnl/socket.js';
export {
  type MeshSysctlOptions,
  meshSysctls,
  type SysctlChange,
  type SysctlKey,
  type SysctlSetting,
  Sysctls,
} from './sysctl/sysctl.js';
export { WireGuard, type WireGuardBackend, type WireGuardDeviceIO } from './wireguard/backend.js';
export { type BackendDetection, detectWireGuardBackend } from './wireguard/detect.js';
export { type DevicePlan, planDevice } from './wireguard/diff.js';
export { KernelDeviceIO } from './wireguard/kernel/backend.js';
export {
  type DecodedDevice,
  type DecodedPeer,
  decodeDeviceMessages,
  toDeviceState,
  toDeviceUpdate,
} from './wireguard/kernel/decode.js';
export { type EncodeOptions, encodeGetDevice, encodeSetDevice } from './wireguard/kernel/encode.js';
export { type GenlTransport, openGenl } from './wireguard/kernel/genl.js';
export * as wgUapi from './wireguard/kernel/uapi.js';
export * from './wireguard/types.js';
export { UserspaceDeviceIO } from './wireguard/userspace/backend.js';
export {
  formatSetRequest,
  GET_REQUEST,
  parseGetResponse,
  replyErrno,
} from './wireguard/userspace/protocol.js';
export { DEFAULT_SOCKET_DIR, socketTransport, type UapiTransport } from './wireguard/userspace/socket.js';
export {
  type UserspaceLauncher,
  type WireGuardGoOptions,
  wireguardGoLauncher,
} from './wireguard/userspace/wireguard-go.js';
export { validateDesiredDevice, validateDeviceUpdate } from './wireguard/validate.js';
