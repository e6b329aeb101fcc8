import type { HealthLeaseLike, WireKubeGateway } from '@wirekube/crd-types';
import { describe, expect, it } from 'vitest';
import { elect, type PeerObservation } from '../src/gateway/election.js';
import { planGateway } from '../src/gateway/plan.js';
import { gateway, healthLease, peer, T0 } from './fixtures.js';

describe('elect (table)', () => {
  const healthy: PeerObservation = {
    exists: true,
    connected: true,
    lease: { gateway: 'g', peer: 'x', healthy: true, expired: false, message: '' },
  };
  const sick: PeerObservation = {
    exists: true,
    connected: true,
    lease: { gateway: 'g', peer: 'x', healthy: false, expired: false, message: 'connect ETIMEDOUT' },
  };
  const offline: PeerObservation = { exists: true, connected: false };
  const cases: Array<{
    name: string;
    refs: string[];
    peers: Record<string, PeerObservation>;
    current?: string;
    enabled?: boolean;
    active: string | undefined;
    reason: string;
  }> = [
    {
      name: 'first healthy wins',
      refs: ['a', 'b'],
      peers: { a: healthy, b: healthy },
      active: 'a',
      reason: 'elected',
    },
    {
      name: 'skips a sick first',
      refs: ['a', 'b'],
      peers: { a: sick, b: healthy },
      active: 'b',
      reason: 'elected',
    },
    {
      name: 'none healthy',
      refs: ['a', 'b'],
      peers: { a: sick, b: sick },
      active: undefined,
      reason: 'none-healthy',
    },
    { name: 'missing peer object', refs: ['a', 'b'], peers: { b: healthy }, active: 'b', reason: 'elected' },
    { name: 'no lease yet', refs: ['a'], peers: { a: offline }, active: undefined, reason: 'none-healthy' },
    {
      name: 'keeps the current one when an earlier one is healthy (no preemption)',
      refs: ['a', 'b'],
      peers: { a: healthy, b: healthy },
      current: 'b',
      active: 'b',
      reason: 'kept',
    },
    {
      name: 'fails over from a sick current',
      refs: ['a', 'b', 'c'],
      peers: { a: sick, b: sick, c: healthy },
      current: 'b',
      active: 'c',
      reason: 'failover',
    },
    {
      name: 'current removed from peerRefs',
      refs: ['a'],
      peers: { a: healthy, b: healthy },
      current: 'b',
      active: 'a',
      reason: 'failover',
    },
    {
      name: 'health check disabled: first connected',
      refs: ['a', 'b'],
      peers: { a: { ...offline, lease: healthy.lease! }, b: { exists: true, connected: true } },
      enabled: false,
      active: 'b',
      reason: 'elected',
    },
  ];
  it.each(cases)('$name', ({ refs, peers, current, enabled, active, reason }) => {
    const input = {
      peerRefs: refs,
      healthCheckEnabled: enabled ?? true,
      peers: new Map(Object.entries(peers)),
      ...(current ? { current } : {}),
    };
    const election = elect(input);
    expect(election.active).toBe(active);
    expect(election.reason).toBe(reason);
    expect([...election.verdicts.keys()]).toEqual(refs);
  });
});

type Write = Record<string, 'healthy' | 'unhealthy'>;
interface Step {
  at: number;
  writes?: Write;
  active: string | undefined;
  events?: string[];
}

/**
 * Replays agents' Lease writes (seconds from T0) through the planner as the controller would, writing the
 * planned status back between steps, and checks the active peer and the Events at each step.
 */
function replay(steps: Step[], base: WireKubeGateway = gateway()) {
  const peers = [peer('node-b1'), peer('node-b2')];
  const leases = new Map<string, HealthLeaseLike>();
  let gw = base;
  for (const step of steps) {
    const now = T0 + step.at * 1000;
    for (const [name, health] of Object.entries(step.writes ?? {})) {
      leases.set(name, healthLease('vpc-b', name, health, now));
    }
    const plan = planGateway(gw, peers, [...leases.values()], now);
    expect({ at: step.at, active: plan.status.activePeer }).toEqual({ at: step.at, active: step.active });
    expect({ at: step.at, events: plan.events.map((e) => e.reason) }).toEqual({
      at: step.at,
      events: step.events ?? [],
    });
    gw = { ...gw, status: plan.status };
  }
  return gw;
}

describe('election over recorded health timelines', () => {
  it('primary fails, secondary takes over, primary recovers and stays standby', () => {
    replay([
      {
        at: 0,
        writes: { 'node-b1': 'healthy', 'node-b2': 'healthy' },
        active: 'node-b1',
        events: ['GatewayElected'],
      },
      { at: 3, writes: { 'node-b1': 'healthy' }, active: 'node-b1' },
      { at: 5, writes: { 'node-b1': 'unhealthy' }, active: 'node-b2', events: ['GatewayFailover'] },
      { at: 6, writes: { 'node-b2': 'healthy' }, active: 'node-b2' },
      { at: 12, writes: { 'node-b1': 'healthy', 'node-b2': 'healthy' }, active: 'node-b2' },
    ]);
  });

  it('a dead node (no renewals) loses the role when its Lease expires', () => {
    replay([
      {
        at: 0,
        writes: { 'node-b1': 'healthy', 'node-b2': 'healthy' },
        active: 'node-b1',
        events: ['GatewayElected'],
      },
      { at: 5, writes: { 'node-b2': 'healthy' }, active: 'node-b1' },
      { at: 9.9, active: 'node-b1' },
      { at: 10, writes: { 'node-b2': 'healthy' }, active: 'node-b2', events: ['GatewayFailover'] },
    ]);
  });

  it('all gone: not ready with the reasons, then back', () => {
    const gw = replay([
      {
        at: 0,
        writes: { 'node-b1': 'healthy', 'node-b2': 'healthy' },
        active: 'node-b1',
        events: ['GatewayElected'],
      },
      { at: 2, writes: { 'node-b1': 'unhealthy' }, active: 'node-b2', events: ['GatewayFailover'] },
      { at: 4, writes: { 'node-b2': 'unhealthy' }, active: undefined, events: ['GatewayNotReady'] },
    ]);
    expect(gw.status).toMatchObject({
      ready: false,
      routesInjected: 0,
      peerHealth: { 'node-b1': 'unhealthy', 'node-b2': 'unhealthy' },
    });
    expect(gw.status?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'NoHealthyPeer',
      message: 'no healthy peer: node-b1: connect ETIMEDOUT; node-b2: connect ETIMEDOUT',
    });
    const back = planGateway(
      gw,
      [peer('node-b1'), peer('node-b2')],
      [healthLease('vpc-b', 'node-b2', 'healthy', T0 + 6000)],
      T0 + 6000,
    );
    expect(back.status.activePeer).toBe('node-b2');
    expect(back.events.map((e) => e.reason)).toEqual(['GatewayElected']);
  });
});

describe('gateway status', () => {
  it('ready: active, routes, condition True, lastHealthCheck, wake at the first expiry', () => {
    const gw = gateway({ routes: [{ cidr: '172.20.0.0/16' }, { cidr: '172.21.0.0/16' }] });
    const plan = planGateway(
      gw,
      [peer('node-b1'), peer('node-b2')],
      [
        healthLease('vpc-b', 'node-b1', 'healthy', T0 - 2000),
        healthLease('vpc-b', 'node-b2', 'healthy', T0 - 1000),
      ],
      T0,
    );
    expect(plan.status).toEqual({
      activePeer: 'node-b1',
      ready: true,
      routesInjected: 2,
      peerHealth: { 'node-b1': 'healthy', 'node-b2': 'healthy' },
      lastHealthCheck: new Date(T0 - 1000).toISOString(),
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'ActivePeerHealthy',
          message: 'node-b1 is active and carries 2 routes',
          observedGeneration: 2,
          lastTransitionTime: new Date(T0).toISOString(),
        },
      ],
    });
    expect(plan.changed).toBe(true);
    expect(plan.requeueAfterMs).toBe(8000);
  });

  it('unchanged status is not written again and keeps lastTransitionTime', () => {
    const leases = [healthLease('vpc-b', 'node-b1', 'healthy', T0)];
    const peers = [peer('node-b1'), peer('node-b2')];
    const first = planGateway(gateway(), peers, leases, T0);
    const second = planGateway(gateway({}, first.status), peers, leases, T0 + 3000);
    expect(second.changed).toBe(false);
    expect(second.events).toEqual([]);
    expect(second.status.conditions?.[0]?.lastTransitionTime).toBe(new Date(T0).toISOString());
  });

  it('ignores Leases of other gateways', () => {
    const plan = planGateway(
      gateway(),
      [peer('node-b1')],
      [healthLease('other', 'node-b1', 'healthy', T0)],
      T0,
    );
    expect(plan.status.ready).toBe(false);
  });

  it('health check disabled: the first connected peerRef, no lastHealthCheck', () => {
    const gw = gateway({ healthCheck: { enabled: false, target: 'x' } });
    const plan = planGateway(
      gw,
      [peer('node-b1', { connected: false }), peer('node-b2', { connected: true })],
      [],
      T0,
    );
    expect(plan.status.activePeer).toBe('node-b2');
    expect(plan.status.lastHealthCheck).toBeUndefined();
    expect(plan.requeueAfterMs).toBeUndefined();
  });
});
