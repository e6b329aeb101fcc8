// The lab's cloud load balancer: what a cloud controller gives a `type: LoadBalancer` Service on a real cluster.
// One namespace on the lab internet with its own address; a Service exposed on it gets a DNAT to its ready
// endpoints (pod IPs, as a cloud load balancer in IP-target mode does) and its status.loadBalancer.ingress set
// to that address. Its own address matters: an agent keeps the relay's address off the tunnel, so a relay
// reached at a node's own address would pull that node's mesh address out of the mesh.
import type { ControlPlane } from '../controlplane/index.js';
import { LabError } from '../errors.js';
import type { NamespaceShell } from '../exec/netns.js';
import { run } from '../exec/run.js';
import type { LabNode } from './node.js';

/** The load balancer's address on the lab internet (the services prefix, clear of STUN and the API server). */
export const LOAD_BALANCER_ADDRESS = '198.51.100.30';

export interface ServiceRef {
  namespace: string;
  name: string;
}

/** One forwarding decision: `address:port` → `podIP:targetPort` on a node whose pod network is routed here. */
export interface LoadBalancerTarget {
  port: number;
  podIP: string;
  targetPort: number;
  node: string;
}

export interface LabLoadBalancer {
  readonly netns: string;
  readonly address: string;
  /**
   * Points the address at the Service's ready endpoints and writes its status.loadBalancer.ingress, as a cloud
   * controller does. Call again after the endpoints changed (a new pod). Returns what it forwards.
   */
  expose(service: ServiceRef): Promise<LoadBalancerTarget[]>;
}

export interface LoadBalancerStart {
  prefix: string;
  internetNetns: string;
  shell(netns: string): NamespaceShell;
  controlPlane: ControlPlane;
  nodes: readonly LabNode[];
  /** Told before the namespace exists, so teardown deletes it even if the set-up fails half way. */
  recordNamespace(netns: string): void;
}

interface EndpointSlice {
  ports?: { name?: string; port?: number; protocol?: string }[];
  endpoints?: { addresses?: string[]; nodeName?: string; conditions?: { ready?: boolean } }[];
}

interface Service {
  spec?: { ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] };
}

/** Pure: the DNAT targets for a Service's ports from its EndpointSlices (ready endpoints, TCP). */
export function planTargets(service: Service, slices: readonly EndpointSlice[]): LoadBalancerTarget[] {
  const targets: LoadBalancerTarget[] = [];
  for (const servicePort of service.spec?.ports ?? []) {
    if ((servicePort.protocol ?? 'TCP') !== 'TCP') continue;
    for (const slice of slices) {
      const port = slice.ports?.find((p) => (p.name ?? '') === (servicePort.name ?? ''));
      if (!port?.port) continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false || !endpoint.nodeName) continue;
        for (const podIP of endpoint.addresses ?? []) {
          targets.push({ port: servicePort.port, podIP, targetPort: port.port, node: endpoint.nodeName });
        }
      }
    }
  }
  return targets;
}

/** Pure: the nft ruleset for the targets (one endpoint per port: the first; the lab runs one replica). */
export function loadBalancerRuleset(address: string, targets: readonly LoadBalancerTarget[]): string {
  const byPort = new Map<number, LoadBalancerTarget>();
  for (const target of targets) if (!byPort.has(target.port)) byPort.set(target.port, target);
  const dnat = [...byPort.values()].map(
    (t) => `    ip daddr ${address} tcp dport ${t.port} dnat to ${t.podIP}:${t.targetPort}`,
  );
  // Full proxy: the pod answers the load balancer, never the client directly (it would not know that flow).
  return `table ip lab-lb {
  chain prerouting {
    type nat hook prerouting priority dstnat;
${dnat.join('\n')}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ct status dnat masquerade
  }
}
`;
}

export async function createLoadBalancer(start: LoadBalancerStart): Promise<LabLoadBalancer> {
  const netns = `${start.prefix}-lb`;
  const address = LOAD_BALANCER_ADDRESS;
  start.recordNamespace(netns);
  const ip = (args: string[]) => run(['ip', ...args]);
  await ip(['netns', 'add', netns]);
  await ip([
    '-n',
    start.internetNetns,
    'link',
    'add',
    'plb',
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    netns,
  ]);
  await ip(['-n', start.internetNetns, 'link', 'set', 'plb', 'master', 'br', 'up']);
  await ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', netns, 'route', 'add', '203.0.113.0/24', 'dev', 'eth0']);
  const shell = start.shell(netns);
  await shell.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  const routed = new Set<string>();

  return {
    netns,
    address,
    async expose(service) {
      const cp = start.controlPlane;
      const svc = JSON.parse(
        (await cp.kubectl(['get', 'service', '-n', service.namespace, service.name, '-o', 'json'])).stdout,
      ) as Service;
      const slices = (
        JSON.parse(
          (
            await cp.kubectl([
              'get',
              'endpointslices',
              '-n',
              service.namespace,
              '-l',
              `kubernetes.io/service-name=${service.name}`,
              '-o',
              'json',
            ])
          ).stdout,
        ) as { items: EndpointSlice[] }
      ).items;
      const targets = planTargets(svc, slices);
      if (targets.length === 0) {
        throw new LabError(
          `load balancer: service ${service.namespace}/${service.name} has no ready endpoint`,
        );
      }
      for (const target of targets) {
        const node = start.nodes.find((n) => n.name === target.node);
        if (!node)
          throw new LabError(`load balancer: endpoint ${target.podIP} on unknown node ${target.node}`);
        if (node.host.nat !== 'none') {
          throw new LabError(
            `load balancer: endpoint ${target.podIP} runs on ${node.name}, behind NAT: a cloud load balancer ` +
              'reaches only nodes in its network (taint NAT nodes so the pod lands on a public one)',
          );
        }
        if (!routed.has(node.podCidr)) {
          await ip(['-n', netns, 'route', 'replace', node.podCidr, 'via', node.host.address, 'dev', 'eth0']);
          routed.add(node.podCidr);
        }
      }
      await shell.exec(['sh', '-c', 'nft delete table ip lab-lb 2>/dev/null; nft -f -'], {
        input: loadBalancerRuleset(address, targets),
      });
      await cp.kubectl([
        'patch',
        'service',
        '-n',
        service.namespace,
        service.name,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: address }] } } }),
      ]);
      return targets;
    },
  };
}
