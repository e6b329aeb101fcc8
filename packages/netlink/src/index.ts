/**
 * `@wirekube/netlink`: the node's kernel surface. Every surface WireKube owns is an applier with one verb,
 * `set(desired)`, returning `{ changed, added, removed, updated }`; `set` of nothing is cleanup.
 *
 * ```ts
 * import { IptablesRules, commandRunner, openNetwork, openWireGuard, Sysctls, WireGuardInterface, relayLoopbackAccept } from '@wirekube/netlink';
 *
 * const { wireguard } = await openWireGuard({ logger }); // kernel module, or wireguard-go over its UAPI socket
 * const net = openNetwork({ logger });
 * const iface = new WireGuardInterface(wireguard, net.links, 'wire_kube', logger);
 * await iface.set({ mtu: 1420, device: { privateKey, listenPort: 51820, fwmark: 0x574b, peers } });
 * await net.routeTable(22347).set([{ dst: '10.0.0.5/32', table: 22347, dev: 'wire_kube', src: '10.0.0.1' }]);
 * await net.ruleSet([199, 200]).set([{ priority: 200, table: 22347 }, { priority: 199, table: 254, fwmark: 0x574b }]);
 * await new Sysctls().set(meshSysctls({ iface: 'wire_kube' }));
 * await new IptablesRules(commandRunner()).set([relayLoopbackAccept(0x574b)]); // → { changed, added, removed, updated, skipped }
 * ```
 *
 * Pure helpers (addresses, prefixes, keys, the sysctl list) are also at `@wirekube/netlink/net`, without any
 * socket behind them; encoders and protocol formatters for tools and tests are at `@wirekube/netlink/internals`.
 */
export { type Applier, type SetResult, setResult } from './applier.js';
export * from './errors.js';
export type { SavedRule } from './iptables/model.js';
export {
  DEFAULT_TAG,
  IptablesRules,
  type IptablesRulesOptions,
  type IptablesSetResult,
} from './iptables/reconcile.js';
export { type CommandRunnerOptions, commandRunner, type IptablesRunner } from './iptables/runner.js';
export {
  generateKeyPair,
  generatePrivateKey,
  type KeyPair,
  loadOrCreatePrivateKey,
  publicKeyFromPrivate,
  readKeyFile,
  writeKeyFile,
} from './keys/x25519.js';
export * from './net/index.js';
export {
  type NetworkSurface,
  type OpenedWireGuard,
  type OpenWireGuardOptions,
  openNetwork,
  openWireGuard,
} from './open.js';
export { type DetachedResult, type DetachedStart, startDetached } from './process/detached.js';
export type { AddressInfo } from './rtnl/addresses.js';
export type { LinkInfo } from './rtnl/links.js';
export { type RouteSetResult, RouteTable } from './rtnl/route-table.js';
export type { RouteInfo, RouteScope, RouteSpec } from './rtnl/routes.js';
export { type RuleInfo, RuleSet, type RuleSetResult, type RuleSpec } from './rtnl/rules.js';
export { type SysctlChange, type SysctlSetResult, Sysctls } from './sysctl/sysctl.js';
export type { WireGuardBackend } from './wireguard/backend.js';
export type { BackendDetection } from './wireguard/detect.js';
export {
  type DesiredInterface,
  type InterfaceSetOptions,
  type InterfaceSetResult,
  type LinkChange,
  WireGuardInterface,
} from './wireguard/interface.js';
export * from './wireguard/types.js';
export type { WireGuardGoOptions } from './wireguard/userspace/wireguard-go.js';
