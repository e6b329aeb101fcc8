import type { WireKubeGateway, WireKubeGatewayStatus } from '@wirekube/crd-types';
import type { Election, PeerObservation } from './election.js';

type Condition = NonNullable<WireKubeGatewayStatus['conditions']>[number];

export interface GatewayEvent {
  type: 'Normal' | 'Warning';
  reason: 'GatewayElected' | 'GatewayFailover' | 'GatewayNotReady';
  message: string;
}

export interface GatewayStatusPlan {
  status: WireKubeGatewayStatus;
  /** False when `status` equals what the object already has: no write. */
  changed: boolean;
  events: GatewayEvent[];
  /** When a healthy peer's Lease expires, the election must run again even without a watch event. */
  requeueAfterMs?: number;
}

/**
 * The gateway's whole status from an election. Only the controller writes it. `lastTransitionTime` of the
 * Ready condition moves only when its status flips, as Kubernetes conventions require.
 */
export function planGatewayStatus(
  gateway: WireKubeGateway,
  election: Election,
  peers: ReadonlyMap<string, PeerObservation>,
  nowMs: number,
): GatewayStatusPlan {
  const previous = gateway.status ?? {};
  const ready = election.active !== undefined;
  const peerHealth: Record<string, 'healthy' | 'unhealthy'> = {};
  for (const [name, verdict] of election.verdicts) peerHealth[name] = verdict.health;

  const status: WireKubeGatewayStatus = {
    ready,
    routesInjected: ready ? gateway.spec.routes.length : 0,
    peerHealth,
    conditions: [readyCondition(gateway, election, previous, nowMs)],
  };
  if (election.active) status.activePeer = election.active;
  const lastCheck = lastHealthCheck(gateway, peers);
  if (lastCheck !== undefined) status.lastHealthCheck = new Date(lastCheck).toISOString();

  const plan: GatewayStatusPlan = {
    status,
    changed: !sameStatus(previous, status),
    events: events(previous.activePeer, election),
  };
  const wake = nextExpiry(gateway, peers, nowMs);
  if (wake !== undefined) plan.requeueAfterMs = wake;
  return plan;
}

function readyCondition(
  gateway: WireKubeGateway,
  election: Election,
  previous: WireKubeGatewayStatus,
  nowMs: number,
): Condition {
  const routes = gateway.spec.routes.length;
  const condition: Condition = election.active
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'ActivePeerHealthy',
        message: `${election.active} is active and carries ${routes} route${routes === 1 ? '' : 's'}`,
        lastTransitionTime: '',
      }
    : {
        type: 'Ready',
        status: 'False',
        reason: 'NoHealthyPeer',
        message: `no healthy peer: ${[...election.verdicts].map(([name, v]) => `${name}: ${v.why}`).join('; ')}`,
        lastTransitionTime: '',
      };
  if (gateway.metadata.generation !== undefined) condition.observedGeneration = gateway.metadata.generation;
  const before = previous.conditions?.find((c) => c.type === 'Ready');
  condition.lastTransitionTime =
    before && before.status === condition.status ? before.lastTransitionTime : new Date(nowMs).toISOString();
  return condition;
}

function events(previousActive: string | undefined, election: Election): GatewayEvent[] {
  if (previousActive === election.active) return [];
  if (election.active === undefined) {
    const why = previousActive ? election.verdicts.get(previousActive)?.why : undefined;
    return [
      {
        type: 'Warning',
        reason: 'GatewayNotReady',
        message: `no healthy gateway peer${previousActive ? `; ${previousActive} lost the role: ${why ?? 'removed from peerRefs'}` : ''}`,
      },
    ];
  }
  if (previousActive === undefined) {
    return [
      { type: 'Normal', reason: 'GatewayElected', message: `${election.active} is the active gateway` },
    ];
  }
  const why = election.verdicts.get(previousActive)?.why ?? 'removed from peerRefs';
  return [
    {
      type: 'Warning',
      reason: 'GatewayFailover',
      message: `active gateway moved from ${previousActive} to ${election.active}: ${previousActive} ${why}`,
    },
  ];
}

/** The newest probe time any peerRef's agent published. */
function lastHealthCheck(
  gateway: WireKubeGateway,
  peers: ReadonlyMap<string, PeerObservation>,
): number | undefined {
  const times = gateway.spec.peerRefs.flatMap((ref) => peers.get(ref)?.lease?.lastProbeMs ?? []);
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** Milliseconds until the first healthy Lease of a peerRef expires. */
function nextExpiry(
  gateway: WireKubeGateway,
  peers: ReadonlyMap<string, PeerObservation>,
  nowMs: number,
): number | undefined {
  const expiries = gateway.spec.peerRefs.flatMap((ref) => {
    const lease = peers.get(ref)?.lease;
    return lease?.healthy && lease.expiresAtMs !== undefined ? [lease.expiresAtMs - nowMs] : [];
  });
  return expiries.length > 0 ? Math.max(0, Math.min(...expiries)) : undefined;
}

function sameStatus(a: WireKubeGatewayStatus, b: WireKubeGatewayStatus): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}
