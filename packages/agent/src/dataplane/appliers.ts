import { FWMARK_RULE_PRIORITY, ROUTE_TABLE, RULE_PRIORITY } from '@wirekube/crd-types';
import {
  commandRunner,
  IptablesRules,
  type NetworkSurface,
  openNetwork,
  openWireGuard,
  type RouteTable,
  type RuleSet,
  type SetResult,
  Sysctls,
  type WireGuardBackend,
  WireGuardInterface,
} from '@wirekube/netlink';
import type { Logger } from 'pino';

export interface NodeAppliersOptions {
  backend: 'auto' | 'kernel' | 'userspace';
  /** Where the host's /proc is (containers mount it elsewhere); default /proc. */
  procRoot?: string;
  wireguardGo?: string;
  /** wireguard-go's own output, appended; default discarded. */
  wireguardGoLog?: string;
  logger: Logger;
}

/**
 * The kernel surfaces WireKube's state lives on, each an applier with one verb, `set(desired)`: the WireGuard
 * interface, table 22347, the rules at WireKube's priorities, sysctls, and the tagged iptables rules of both
 * families. The dataplane sets them to the plan; cleanup sets them to nothing — the same objects either way.
 */
export interface NodeAppliers {
  readonly backend: 'kernel' | 'userspace';
  readonly wireguard: WireGuardBackend;
  readonly net: NetworkSurface;
  interface(name: string): WireGuardInterface;
  readonly routes: RouteTable;
  readonly rules: RuleSet;
  readonly sysctls: Sysctls;
  readonly iptables: Readonly<Record<4 | 6, IptablesRules>>;
  close(): Promise<void>;
}

export async function openNodeAppliers(options: NodeAppliersOptions): Promise<NodeAppliers> {
  const logger = options.logger;
  const { wireguard, detection } = await openWireGuard({
    backend: options.backend,
    logger,
    wireguardGo: {
      ...(options.wireguardGo ? { command: options.wireguardGo } : {}),
      ...(options.wireguardGoLog ? { logPath: options.wireguardGoLog } : {}),
    },
  });
  logger.info(
    { event: 'wireguard-backend-selected', backend: detection.kind, reason: detection.reason },
    'WireGuard backend selected',
  );
  const net = openNetwork({ logger });
  const procRoot = (options.procRoot ?? '/proc').replace(/\/$/, '');
  return {
    backend: detection.kind,
    wireguard,
    net,
    interface: (name) => new WireGuardInterface(wireguard, net.links, name, logger),
    routes: net.routeTable(ROUTE_TABLE),
    rules: net.ruleSet([FWMARK_RULE_PRIORITY, RULE_PRIORITY]),
    sysctls: new Sysctls({ procRoot: `${procRoot}/sys`, logger }),
    iptables: {
      4: new IptablesRules(commandRunner({ family: 4 }), { logger }),
      6: new IptablesRules(commandRunner({ family: 6 }), { logger }),
    },
    async close() {
      net.close();
      await wireguard.close();
    },
  };
}

export interface EmptyingStep {
  name: string;
  run(): Promise<SetResult<unknown, unknown, unknown>>;
}

/**
 * Every applier set to nothing of WireKube's, in the seed's cleanup order: iptables rules, the routes of table
 * 22347, the rules, the interface. Sysctls are not among them: WireKube's are on the interface and go with it.
 */
export function emptyingSteps(appliers: NodeAppliers, interfaceName: string): EmptyingStep[] {
  return [
    { name: 'iptables (IPv4)', run: () => appliers.iptables[4].set([]) },
    { name: 'iptables (IPv6)', run: () => appliers.iptables[6].set([]) },
    { name: 'routes', run: () => appliers.routes.set([]) },
    { name: 'rules', run: () => appliers.rules.set([]) },
    { name: 'interface', run: () => appliers.interface(interfaceName).set(undefined) },
  ];
}
