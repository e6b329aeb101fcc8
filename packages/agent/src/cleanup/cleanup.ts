import type { Logger } from 'pino';
import { emptyingSteps, type NodeAppliers, openNodeAppliers } from '../dataplane/appliers.js';
import { type RelayLinkStopResult, stopRelayLink } from '../relay-link/stop.js';
import { type KeyDirResult, removeKeyDir } from './key-dir.js';

export interface CleanupOptions {
  interfaceName: string;
  keyDir: string;
  backend: 'auto' | 'kernel' | 'userspace';
  /** The relay-link's socket: a running relay-link is stopped over it, and the file removed. */
  relayLinkSocket?: string;
  logger: Logger;
  /** Substitute appliers (tests); default: the node's own, as the dataplane opens them. */
  appliers?: NodeAppliers;
}

export interface CleanupReport {
  iptablesRulesRemoved: number;
  routesFlushed: number;
  rulesRemoved: number;
  interfaceDeleted: boolean;
  keyDirRemoved: string;
  /** Entries deleted inside the key directory. */
  keyEntriesRemoved: number;
  /** The key directory itself stays when it is a mount point (the cleanup Job's hostPath volume). */
  keyDirKept: boolean;
  /** A relay-link answered and was stopped. */
  relayLinkStopped: boolean;
}

/**
 * What the seed's cleanup job does on a node leaving the mesh: every applier the agent programs is set to
 * nothing of ours (tagged iptables rules, table 22347, the rules, the interface — the same appliers, so cleanup
 * cannot miss what the agent added), then the key material goes. Each step runs even when an earlier one found
 * nothing or failed; the report says what was done.
 */
export async function cleanupNode(options: CleanupOptions): Promise<CleanupReport> {
  const log = options.logger;
  const failures: string[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${name}: ${message}`);
      log.error({ event: 'cleanup-step-failed', step: name, err: message }, 'cleanup step failed');
      return fallback;
    }
  };
  const report: CleanupReport = {
    iptablesRulesRemoved: 0,
    routesFlushed: 0,
    rulesRemoved: 0,
    interfaceDeleted: false,
    keyDirRemoved: options.keyDir,
    keyEntriesRemoved: 0,
    keyDirKept: false,
    relayLinkStopped: false,
  };
  // First: the relay connection goes before the interface it feeds.
  const socket = options.relayLinkSocket;
  if (socket) {
    const link = await step<RelayLinkStopResult | undefined>(
      'relay-link',
      () => stopRelayLink(socket),
      undefined,
    );
    report.relayLinkStopped = link?.stopped ?? false;
  }
  const appliers = await step(
    'open',
    async () => options.appliers ?? (await openNodeAppliers({ backend: options.backend, logger: log })),
    undefined,
  );
  if (appliers) {
    try {
      for (const { name, run } of emptyingSteps(appliers, options.interfaceName)) {
        const result = await step(name, run, undefined);
        if (!result) continue;
        if (name.startsWith('iptables')) report.iptablesRulesRemoved += result.removed.length;
        else if (name === 'routes') report.routesFlushed = result.removed.length;
        else if (name === 'rules') report.rulesRemoved = result.removed.length;
        else if (name === 'interface') report.interfaceDeleted = result.changed;
      }
    } finally {
      if (!options.appliers) await appliers.close();
    }
  }
  const keys = await step<KeyDirResult | undefined>('keys', () => removeKeyDir(options.keyDir), undefined);
  if (keys) {
    report.keyEntriesRemoved = keys.entriesRemoved;
    report.keyDirKept = keys.kept;
  }
  log.info({ event: 'cleanup-finished', report }, 'cleanup finished');
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
