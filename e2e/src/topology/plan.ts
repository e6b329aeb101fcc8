import { LabSpecError } from '../errors.js';
import type { NatKind, ResolvedHost } from './spec.js';

// The lab internet is exactly these documentation prefixes, on one bridge, all on-link. There is no default
// route anywhere in the lab, which is what seals it: an address outside them is unreachable by construction.
// 192.0.2.0/24 is left out because CI machines here use it for their own uplink.
export const PUBLIC_HOSTS_PREFIX = '203.0.113.0/24';
export const SERVICES_PREFIX = '198.51.100.0/24';
export const INTERNET_PREFIXES = [PUBLIC_HOSTS_PREFIX, SERVICES_PREFIX] as const;

const PUBLIC_HOST_BASE = 10; // 203.0.113.10 ...
const ROUTER_WAN_BASE = 100; // 203.0.113.100 ...
export const STUN_ADDRESSES = ['198.51.100.10', '198.51.100.11'] as const;
export const CONTROL_PLANE_ADDRESS = '198.51.100.20';
const LAN_BASE = 100; // LAN k is 10.(100+k).0.0/24
const MAX_PUBLIC_HOSTS = ROUTER_WAN_BASE - PUBLIC_HOST_BASE;
const MAX_LANS = 250 - LAN_BASE;
const MAX_HOSTS_PER_LAN = 200;

export type NamespaceRole = 'internet' | 'host' | 'router' | 'stun' | 'controlplane';

export interface NamespacePlan {
  name: string;
  role: NamespaceRole;
  /** ip_forward; only routers forward. */
  forwarding: boolean;
}

/** One end of a veth pair. `netns: null` is the root namespace. */
export interface LinkEnd {
  netns: string | null;
  ifname: string;
  /** CIDR notation. */
  addresses: string[];
  /** A bridge in the same namespace to enslave this end to. */
  master?: string;
}

export interface BridgePlan {
  netns: string;
  ifname: string;
  addresses: string[];
}

export interface RoutePlan {
  netns: string;
  dst: string;
  dev: string;
  via?: string;
}

export interface NftPlan {
  netns: string;
  ruleset: string;
}

export interface HostPlan {
  name: string;
  netns: string;
  nat: NatKind;
  lan?: string;
  /** Its own address: LAN address behind NAT, internet address when public. */
  address: string;
  /** How the lab internet sees it: the router's WAN address behind NAT. */
  publicAddress: string;
  /** The router's LAN address, behind NAT. */
  gateway?: string;
}

export interface RouterPlan {
  lan: string;
  netns: string;
  nat: Exclude<NatKind, 'none'>;
  wanAddress: string;
  lanAddress: string;
  lanPrefix: string;
}

export interface RootLinkPlan {
  /** Interface name in the root namespace (unique per run, at most 15 bytes). */
  rootIfname: string;
  rootAddress: string;
  nsAddress: string;
  prefixLength: number;
}

export interface ControlPlanePlan {
  netns: string;
  internetAddress: string;
  rootLink: RootLinkPlan;
}

export interface TopologyPlan {
  prefix: string;
  namespaces: NamespacePlan[];
  bridges: BridgePlan[];
  veths: { a: LinkEnd; b: LinkEnd }[];
  routes: RoutePlan[];
  nft: NftPlan[];
  hosts: HostPlan[];
  routers: RouterPlan[];
  stun?: { netns: string; addresses: string[] };
  controlPlane?: ControlPlanePlan;
}

export interface PlanInput {
  /** Unique per run; namespace names start with it. */
  prefix: string;
  hosts: readonly ResolvedHost[];
  stun: boolean;
  /** The root namespace side of the control plane's dedicated link, chosen by the caller (it is not pure). */
  controlPlaneLink?: Omit<RootLinkPlan, 'rootIfname'>;
}

/** nft ruleset of a NAT router: masquerade out of the WAN, and drop what the WAN did not ask for. */
export function routerRuleset(nat: Exclude<NatKind, 'none'>): string {
  // Without the WAN drops, a peer's first packet to our public :51820 creates a confirmed conntrack entry that
  // takes the port, our own mapping then gets a random one, and hole punching fails (see LAB-FACTS.md).
  const masquerade = nat === 'symmetric' ? 'masquerade fully-random' : 'masquerade';
  return `table ip wklab {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ${masquerade}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
`;
}

/** The whole topology as data: namespaces, links, addresses, routes and NAT rules. No I/O. */
export function planTopology(input: PlanInput): TopologyPlan {
  const { prefix } = input;
  const ns = (suffix: string) => `${prefix}-${suffix}`;
  const internet = ns('internet');
  const plan: TopologyPlan = {
    prefix,
    namespaces: [{ name: internet, role: 'internet', forwarding: false }],
    bridges: [{ netns: internet, ifname: 'br', addresses: [] }],
    veths: [],
    routes: [],
    nft: [],
    hosts: [],
    routers: [],
  };
  let port = 0;
  // Attaches a namespace to the internet bridge with an address and on-link routes to the other prefixes.
  const attach = (netns: string, ifname: string, addresses: string[]) => {
    plan.veths.push({
      a: { netns: internet, ifname: `p${port++}`, addresses: [], master: 'br' },
      b: { netns, ifname, addresses: addresses.map((address) => `${address}/24`) },
    });
    const own = new Set(addresses.map(prefix24));
    for (const dst of INTERNET_PREFIXES) {
      if (!own.has(dst)) plan.routes.push({ netns, dst, dev: ifname });
    }
  };

  const publicHosts = input.hosts.filter((host) => host.nat === 'none');
  if (publicHosts.length > MAX_PUBLIC_HOSTS) {
    throw new LabSpecError(`at most ${MAX_PUBLIC_HOSTS} public hosts`, 'hosts');
  }
  const lans = new Map<string, { nat: Exclude<NatKind, 'none'>; hosts: ResolvedHost[] }>();
  for (const host of input.hosts) {
    if (host.nat === 'none' || host.lan === undefined) continue;
    const lan = lans.get(host.lan) ?? { nat: host.nat, hosts: [] };
    lan.hosts.push(host);
    lans.set(host.lan, lan);
  }
  if (lans.size > MAX_LANS) throw new LabSpecError(`at most ${MAX_LANS} LANs`, 'hosts');

  let publicIndex = 0;
  for (const host of input.hosts) {
    if (host.nat !== 'none') continue;
    const netns = ns(host.name);
    const address = `203.0.113.${PUBLIC_HOST_BASE + publicIndex++}`;
    plan.namespaces.push({ name: netns, role: 'host', forwarding: false });
    attach(netns, 'eth0', [address]);
    plan.hosts.push({ name: host.name, netns, nat: 'none', address, publicAddress: address });
  }

  let lanIndex = 0;
  for (const [lan, { nat, hosts }] of lans) {
    if (hosts.length > MAX_HOSTS_PER_LAN) {
      throw new LabSpecError(`at most ${MAX_HOSTS_PER_LAN} hosts in lan ${lan}`, 'hosts');
    }
    const router = ns(`r-${lan}`);
    const wanAddress = `203.0.113.${ROUTER_WAN_BASE + lanIndex}`;
    const octet = LAN_BASE + lanIndex;
    lanIndex++;
    const lanAddress = `10.${octet}.0.1`;
    plan.namespaces.push({ name: router, role: 'router', forwarding: true });
    attach(router, 'wan', [wanAddress]);
    plan.bridges.push({ netns: router, ifname: 'lan', addresses: [`${lanAddress}/24`] });
    plan.nft.push({ netns: router, ruleset: routerRuleset(nat) });
    plan.routers.push({ lan, netns: router, nat, wanAddress, lanAddress, lanPrefix: `10.${octet}.0.0/24` });
    hosts.forEach((host, index) => {
      const netns = ns(host.name);
      const address = `10.${octet}.0.${10 + index}`;
      plan.namespaces.push({ name: netns, role: 'host', forwarding: false });
      plan.veths.push({
        a: { netns: router, ifname: `h${index}`, addresses: [], master: 'lan' },
        b: { netns, ifname: 'eth0', addresses: [`${address}/24`] },
      });
      // Routes to the internet prefixes only, not a default route: the lab stays sealed even behind NAT.
      for (const dst of INTERNET_PREFIXES) plan.routes.push({ netns, dst, dev: 'eth0', via: lanAddress });
      plan.hosts.push({
        name: host.name,
        netns,
        nat,
        lan,
        address,
        publicAddress: wanAddress,
        gateway: lanAddress,
      });
    });
  }

  if (input.stun) {
    const netns = ns('stun');
    plan.namespaces.push({ name: netns, role: 'stun', forwarding: false });
    attach(netns, 'eth0', [...STUN_ADDRESSES]);
    plan.stun = { netns, addresses: [...STUN_ADDRESSES] };
  }

  if (input.controlPlaneLink) {
    const netns = ns('cp');
    const link = { ...input.controlPlaneLink, rootIfname: `${prefix}-cp` };
    if (Buffer.byteLength(link.rootIfname) > 15) {
      throw new LabSpecError(`root interface name ${link.rootIfname} is longer than 15 bytes`, 'prefix');
    }
    // ip_forward stays 0 here: the root namespace reaches the API server, never the lab internet through it.
    plan.namespaces.push({ name: netns, role: 'controlplane', forwarding: false });
    attach(netns, 'eth0', [CONTROL_PLANE_ADDRESS]);
    plan.veths.push({
      a: { netns: null, ifname: link.rootIfname, addresses: [`${link.rootAddress}/${link.prefixLength}`] },
      b: { netns, ifname: 'root', addresses: [`${link.nsAddress}/${link.prefixLength}`] },
    });
    plan.controlPlane = { netns, internetAddress: CONTROL_PLANE_ADDRESS, rootLink: link };
  }
  return plan;
}

function prefix24(address: string): string {
  return `${address.split('.').slice(0, 3).join('.')}.0/24`;
}
