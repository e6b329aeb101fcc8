/** Messages between the relay thread and the HTTP worker (http-worker.ts). */
import type { RelayStats } from '../server/stats.js';

export interface RelaySnapshot {
  stats: RelayStats;
  connectionCount: number;
  registeredKeyCount: number;
  queuedBytes: number;
  maxQueuedBytes: number;
  ready: boolean;
}

export type ToMain =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string }
  | { type: 'snapshot-request'; id: number };

export type ToWorker = { type: 'snapshot'; id: number; snapshot: RelaySnapshot } | { type: 'close' };
