import { createHash } from 'node:crypto';
import { GROUP, LABELS } from './constants.js';

/**
 * The gateway health contract between agents and the controller. The agent on a gateway node probes the
 * health target and keeps one coordination.k8s.io Lease per (gateway, peer) fresh while the probe passes; the
 * controller reads only these Leases, so health never fans out to every agent and a dead node's Lease expires
 * by itself.
 */
export const GATEWAY_LEASE = {
  /** Label on a health Lease: the WireKubeGateway it reports on. */
  gatewayLabel: `${GROUP}/gateway`,
  /** Label on a health Lease: the Node whose agent writes it. */
  nodeLabel: LABELS.node,
  /** Label on a health Lease: the WireKubePeer it reports on (Lease names are hashed when long). */
  peerLabel: `${GROUP}/peer`,
  /** Annotation: `healthy` or `unhealthy`, the prober's verdict after failureThreshold. */
  healthAnnotation: `${GROUP}/health`,
  /** Annotation: RFC 3339 time of the last probe when the Lease was written. */
  lastProbeAnnotation: `${GROUP}/last-probe`,
  /** Annotation: why the probe fails (empty while healthy). */
  messageAnnotation: `${GROUP}/message`,
} as const;

const MAX_NAME = 63;

/** `wkgw-<gateway>-<peer>`, or a prefix plus a hash of both when that exceeds a Lease name's 63 characters. */
export function gatewayLeaseName(gateway: string, peer: string): string {
  const plain = `wkgw-${gateway}-${peer}`;
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(`${gateway}\n${peer}`).digest('hex').slice(0, 10);
  return `${plain.slice(0, MAX_NAME - hash.length - 1).replace(/[-.]+$/, '')}-${hash}`;
}

/** How long a health Lease stays valid without renewal: enough for a few probe rounds, never under 10 s. */
export function gatewayLeaseDurationSeconds(intervalSeconds: number, failureThreshold: number): number {
  return Math.max(10, intervalSeconds * (failureThreshold + 1));
}

/** The subset of a coordination.k8s.io/v1 Lease the health contract reads; client-node's V1Lease fits it. */
export interface HealthLeaseLike {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    renewTime?: Date | string;
    acquireTime?: Date | string;
  };
}

/** A health Lease read at `nowMs`. */
export interface GatewayHealthReport {
  gateway: string;
  peer: string;
  /** The agent said healthy and the Lease has not expired. */
  healthy: boolean;
  /** The Lease was not renewed in time (the node or its agent is gone). */
  expired: boolean;
  /** Time of the last probe the agent published, ms since the epoch. */
  lastProbeMs?: number;
  /** When the Lease expires, ms since the epoch (the controller wakes then). */
  expiresAtMs?: number;
  message: string;
}

/** Reads a health Lease; undefined when it is not one (missing labels). */
export function readGatewayHealthLease(
  lease: HealthLeaseLike,
  nowMs: number,
): GatewayHealthReport | undefined {
  const labels = lease.metadata?.labels ?? {};
  const gateway = labels[GATEWAY_LEASE.gatewayLabel];
  const peer = labels[GATEWAY_LEASE.peerLabel] ?? lease.spec?.holderIdentity;
  if (!gateway || !peer) return undefined;
  const annotations = lease.metadata?.annotations ?? {};
  const renewMs = toMs(lease.spec?.renewTime ?? lease.spec?.acquireTime);
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  const expiresAtMs = renewMs === undefined ? undefined : renewMs + durationMs;
  const expired = expiresAtMs === undefined || nowMs >= expiresAtMs;
  const said = annotations[GATEWAY_LEASE.healthAnnotation];
  const lastProbeMs = toMs(annotations[GATEWAY_LEASE.lastProbeAnnotation]) ?? renewMs;
  const message = expired
    ? 'health lease expired (agent not renewing)'
    : said === 'healthy'
      ? ''
      : annotations[GATEWAY_LEASE.messageAnnotation] || 'probe failing';
  const report: GatewayHealthReport = {
    gateway,
    peer,
    healthy: !expired && said === 'healthy',
    expired,
    message,
  };
  if (lastProbeMs !== undefined) report.lastProbeMs = lastProbeMs;
  if (expiresAtMs !== undefined) report.expiresAtMs = expiresAtMs;
  return report;
}

function toMs(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
