import type { CommandResult, RunOptions } from '../exec/run.js';
import type { LinkEnd, TopologyPlan } from './plan.js';

/** How apply runs commands; tests substitute a recorder. */
export type Runner = (argv: readonly string[], options?: RunOptions) => Promise<CommandResult>;

/** The `ip -batch` lines that create every namespace and veth pair, run once in the root namespace. */
export function creationBatch(plan: TopologyPlan): string[] {
  const lines = plan.namespaces.map((ns) => `netns add ${ns.name}`);
  const end = (link: LinkEnd) => `name ${link.ifname}${link.netns ? ` netns ${link.netns}` : ''}`;
  for (const { a, b } of plan.veths) lines.push(`link add ${end(a)} type veth peer ${end(b)}`);
  return lines;
}

/** Per namespace, the `ip -batch` lines that address, enslave and raise its links and add its routes. */
export function configurationBatches(plan: TopologyPlan): Map<string | null, string[]> {
  const batches = new Map<string | null, string[]>();
  const batch = (netns: string | null) => {
    let lines = batches.get(netns);
    if (!lines) {
      lines = netns === null ? [] : ['link set lo up'];
      batches.set(netns, lines);
    }
    return lines;
  };
  for (const ns of plan.namespaces) batch(ns.name);
  for (const bridge of plan.bridges) {
    const lines = batch(bridge.netns);
    lines.push(`link add name ${bridge.ifname} type bridge`);
    for (const address of bridge.addresses) lines.push(`address add ${address} dev ${bridge.ifname}`);
    lines.push(`link set dev ${bridge.ifname} up`);
  }
  for (const end of plan.veths.flatMap(({ a, b }) => [a, b])) {
    const lines = batch(end.netns);
    if (end.master) lines.push(`link set dev ${end.ifname} master ${end.master}`);
    for (const address of end.addresses) lines.push(`address add ${address} dev ${end.ifname}`);
    lines.push(`link set dev ${end.ifname} up`);
  }
  for (const route of plan.routes) {
    batch(route.netns).push(`route add ${route.dst}${route.via ? ` via ${route.via}` : ''} dev ${route.dev}`);
  }
  return batches;
}

/** Creates every namespace and veth pair (one `ip -batch` in the root namespace). */
export async function createTopology(plan: TopologyPlan, run: Runner): Promise<void> {
  await run(['ip', '-batch', '-'], { input: `${creationBatch(plan).join('\n')}\n` });
}

/** Addresses, bridges, routes, forwarding and NAT rules: one `ip -batch` per namespace, all in parallel. */
export async function configureTopology(plan: TopologyPlan, run: Runner): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  for (const [netns, lines] of configurationBatches(plan)) {
    const argv = netns === null ? ['ip', '-batch', '-'] : ['ip', '-n', netns, '-batch', '-'];
    jobs.push(run(argv, { input: `${lines.join('\n')}\n`, ...(netns ? { netns } : {}) }));
  }
  for (const ns of plan.namespaces.filter((candidate) => candidate.forwarding)) {
    const rules = plan.nft.filter((nft) => nft.netns === ns.name).map((nft) => nft.ruleset);
    // One process per router: enable forwarding and load its NAT rules.
    const script = 'echo 1 > /proc/sys/net/ipv4/ip_forward && exec nft -f -';
    jobs.push(
      run(['ip', 'netns', 'exec', ns.name, 'sh', '-c', script], { input: rules.join('\n'), netns: ns.name }),
    );
  }
  const results = await Promise.allSettled(jobs);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Creates the planned topology. On failure the caller tears down by namespace name, so partial work is fine. */
export async function applyTopology(plan: TopologyPlan, run: Runner): Promise<void> {
  await createTopology(plan, run);
  await configureTopology(plan, run);
}
