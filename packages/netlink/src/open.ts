import type { Logger } from 'pino';
import { Addresses } from './rtnl/addresses.js';
import { Links } from './rtnl/links.js';
import { RouteTable } from './rtnl/route-table.js';
import { Routes } from './rtnl/routes.js';
import { RuleSet, Rules } from './rtnl/rules.js';
import { openRtnl, type RtnlConnection } from './rtnl/socket.js';
import { WireGuard, type WireGuardBackend } from './wireguard/backend.js';
import { type BackendDetection, detectWireGuardBackend } from './wireguard/detect.js';
import { KernelDeviceIO } from './wireguard/kernel/backend.js';
import { type GenlTransport, openGenl } from './wireguard/kernel/genl.js';
import type { WireGuardBackendKind } from './wireguard/types.js';
import { UserspaceDeviceIO } from './wireguard/userspace/backend.js';
import { socketTransport } from './wireguard/userspace/socket.js';
import { type WireGuardGoOptions, wireguardGoLauncher } from './wireguard/userspace/wireguard-go.js';

/** rtnetlink of the calling process's network namespace, one object per concern. */
export interface NetworkSurface {
  links: Links;
  addresses: Addresses;
  routes: Routes;
  rules: Rules;
  /** The reconciler of one table WireKube owns (22347). */
  routeTable(table: number): RouteTable;
  /** The reconciler of the rules at the priorities WireKube owns. */
  ruleSet(priorities: readonly number[]): RuleSet;
  close(): void;
}

export function openNetwork(options: { logger?: Logger; connection?: RtnlConnection } = {}): NetworkSurface {
  const connection = options.connection ?? openRtnl();
  const links = new Links(connection.socket);
  const routes = new Routes(connection.socket, links);
  const rules = new Rules(connection.socket);
  return {
    links,
    addresses: new Addresses(connection.socket, links),
    routes,
    rules,
    routeTable: (table) => new RouteTable(routes, table, options.logger),
    ruleSet: (priorities) => new RuleSet(rules, priorities, options.logger),
    close: () => connection.close(),
  };
}

export interface OpenWireGuardOptions {
  /** `auto` (default) detects; a fixed kind skips detection. */
  backend?: 'auto' | WireGuardBackendKind;
  /** UAPI socket directory, default /var/run/wireguard. */
  socketDir?: string;
  wireguardGo?: WireGuardGoOptions;
  logger?: Logger;
  /** Substitutes for tests. */
  genl?: GenlTransport;
  connection?: RtnlConnection;
}

export interface OpenedWireGuard {
  wireguard: WireGuardBackend;
  detection: BackendDetection;
}

/** Detects (or takes) the backend and returns the one WireGuard interface over it. */
export async function openWireGuard(options: OpenWireGuardOptions = {}): Promise<OpenedWireGuard> {
  const connection = options.connection ?? openRtnl();
  const genl = options.genl ?? openGenl();
  const links = new Links(connection.socket);
  const choice = options.backend ?? 'auto';
  const detection: BackendDetection =
    choice === 'auto' ? await detectWireGuardBackend(genl, links) : { kind: choice, reason: 'configured' };
  const closeOwned = async () => {
    if (!options.genl) genl.close();
    if (!options.connection) connection.close();
  };
  const io =
    detection.kind === 'kernel'
      ? new KernelDeviceIO(genl, links)
      : (() => {
          const transport = socketTransport({ socketDir: options.socketDir });
          return new UserspaceDeviceIO(transport, wireguardGoLauncher(transport, options.wireguardGo), links);
        })();
  options.logger?.info({ event: 'wireguard-backend', backend: detection.kind, reason: detection.reason });
  return { wireguard: new WireGuard(io, { logger: options.logger, onClose: closeOwned }), detection };
}
