/**
 * A sysctl named by its path components, e.g. ['net', 'ipv4', 'conf', 'wire_kube', 'rp_filter'].
 * Components rather than a dotted string, because interface names may contain dots.
 */
export type SysctlKey = readonly string[];

export interface SysctlSetting {
  key: SysctlKey;
  value: string | number;
}

export interface MeshSysctlOptions {
  /** The WireGuard interface. */
  iface: string;
  /** Route packets between interfaces (gateways, and nodes forwarding for pods). Default true. */
  ipForward?: boolean;
  /** rp_filter on the WireGuard interface: 0 off, 1 strict, 2 loose. Default 2. */
  rpFilter?: 0 | 1 | 2;
  /** Accept packets with a local source address on the WireGuard interface (relay proxy on loopback). */
  acceptLocal?: boolean;
}

/**
 * The sysctls a WireKube node needs, as data: no IPsec policy/transform lookups on the WireGuard interface
 * (disable_xfrm, disable_policy), a loose reverse-path filter, forwarding, accept_local.
 */
export function meshSysctls(options: MeshSysctlOptions): SysctlSetting[] {
  const conf = (name: string): SysctlKey => ['net', 'ipv4', 'conf', options.iface, name];
  const settings: SysctlSetting[] = [
    { key: conf('disable_xfrm'), value: 1 },
    { key: conf('disable_policy'), value: 1 },
    { key: conf('rp_filter'), value: options.rpFilter ?? 2 },
  ];
  if (options.acceptLocal ?? true) settings.push({ key: conf('accept_local'), value: 1 });
  if (options.ipForward ?? true) settings.push({ key: ['net', 'ipv4', 'ip_forward'], value: 1 });
  return settings;
}
