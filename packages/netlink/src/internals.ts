/**
 * `@wirekube/netlink/internals`: the pieces under the appliers, for the lab probe, tools and tests — message
 * encoders and decoders, the UAPI text format, the pure diffs, the transports. Not a stable API.
 *
 * ```ts
 * import { encodeSetDevice, formatSetRequest, nlattr, openGenl, planRoutes, wgUapi } from '@wirekube/netlink/internals';
 *
 * const genl = openGenl();
 * const id = await genl.familyId(wgUapi.WG_GENL_NAME); // NetlinkError ENOENT without the kernel module
 * formatSetRequest({ listenPort: 51820, peers: [] }); // 'set=1\nlisten_port=51820\n\n'
 * ```
 */
export { type IptablesPlan, planTable } from './iptables/plan.js';
export { normalizeArgs, parseSave, ruleArgs } from './iptables/save-format.js';
export { keyFromBytes, keyFromHex, keyToBytes, keyToHex } from './keys/x25519.js';
export * as nlattr from './nla/attributes.js';
export { Addresses } from './rtnl/addresses.js';
export { Links } from './rtnl/links.js';
export { planRoutes, type RoutePlan } from './rtnl/route-table.js';
export { Routes } from './rtnl/routes.js';
export { planRules, type RulePlan, Rules, ruleKey } from './rtnl/rules.js';
export { openRtnl, type RtnlConnection, type RtnlSocket } from './rtnl/socket.js';
export { WireGuard, type WireGuardDeviceIO } from './wireguard/backend.js';
export { detectWireGuardBackend } from './wireguard/detect.js';
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
export { UserspaceDeviceIO } from './wireguard/userspace/backend.js';
export {
  formatSetRequest,
  GET_REQUEST,
  parseGetResponse,
  replyErrno,
} from './wireguard/userspace/protocol.js';
export { DEFAULT_SOCKET_DIR, socketTransport, type UapiTransport } from './wireguard/userspace/socket.js';
export { type UserspaceLauncher, wireguardGoLauncher } from './wireguard/userspace/wireguard-go.js';
export { checkInterfaceName, validateDesiredDevice, validateDeviceUpdate } from './wireguard/validate.js';
