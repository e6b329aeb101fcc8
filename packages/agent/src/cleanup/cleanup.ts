import { rm } from 'node:fs/promises';
import { FWMARK_RULE_PRIORITY, ROUTE_TABLE, RULE_PRIORITY } from '@wirekube/crd-types';
import { commandRunner, IptablesRules, openNetwork, openWireGuard } from '@wirekube/netlink';
import type { Logger } from 'pino';
import { PROTECT_RULE_PRIORITY } from '../plan/protect.js';

export interface CleanupOptions {
  interfaceName: string;
  keyDir: string;
  backend: 'auto' | 'kernel' | 'userspace';
  logger: Logger;
}

export interface CleanupReport {
  iptablesRulesRemoved: number;
  routesFlushed: number;
  rulesRemoved: number;
  interfaceDeleted: boolean;
  keyDirRemoved: string;
}

/**
 * What the seed's cleanup job does on a node leaving the mesh, in its order: tagged iptables rules, the routes
 * of table 22347, WireKube's ip rules, the WireGuard interface, the key material. Each step runs even when an
 * earlier one found nothing, and a step that fails does not stop the others: the report says what was done.
 */
export async function cleanupNode(options: CleanupOptions): Promise<CleanupReport> {
  const log = options.logger;
  const failures: string[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
      log.error({ step: name, err: (error as Error).message }, 'cleanup step failed');
      return fallback;
    }
  };
  const report: CleanupReport = {
    iptablesRulesRemoved: 0,
    routesFlushed: 0,
    rulesRemoved: 0,
    interfaceDeleted: false,
    keyDirRemoved: options.keyDir,
  };
  for (const family of [4, 6] as const) {
    const removed = await step(
      `iptables (IPv${family})`,
      async () =>
        (await new IptablesRules(commandRunner({ family }), { logger: log }).removeAll()).removed.length,
      0,
    );
    report.iptablesRulesRemoved += removed;
  }
  const net = openNetwork({ logger: log });
  try {
    report.routesFlushed = await step(
      'routes',
      async () => (await net.routeTable(ROUTE_TABLE).flush()).length,
      0,
    );
    report.rulesRemoved = await step(
      'rules',
      async () =>
        (await net.ruleSet([PROTECT_RULE_PRIORITY, FWMARK_RULE_PRIORITY, RULE_PRIORITY]).set([])).removed
          .length,
      0,
    );
  } finally {
    net.close();
  }
  report.interfaceDeleted = await step(
    'interface',
    async () => {
      const { wireguard } = await openWireGuard({ backend: options.backend, logger: log });
      try {
        return await wireguard.deleteInterface(options.interfaceName);
      } finally {
        await wireguard.close();
      }
    },
    false,
  );
  await step('keys', () => rm(options.keyDir, { recursive: true, force: true }), undefined);
  log.info({ report }, 'cleanup finished');
  if (failures.length > 0) throw new CleanupError(failures, report);
  return report;
}

export class CleanupError extends Error {
  constructor(
    readonly failures: string[],
    readonly report: CleanupReport,
  ) {
    super(`cleanup incomplete: ${failures.join('; ')}`);
    this.name = 'CleanupError';
  }
}
