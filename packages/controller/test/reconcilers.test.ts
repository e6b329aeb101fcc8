import type { KubernetesObject, V1Lease } from '@kubernetes/client-node';
import type { WireKubeGateway, WireKubeMesh, WireKubePeer } from '@wirekube/crd-types';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ControllerCache, ControllerWriter } from '../src/kube/cluster.js';
import { ControllerMetrics } from '../src/metrics/metrics.js';
import { GatewayReconciler } from '../src/reconcile/gateways.js';
import { PeerGcReconciler } from '../src/reconcile/peer-gc.js';
import { gateway, healthLease, peer, T0 } from './fixtures.js';

const log = pino({ level: 'silent' });

/** A cluster in memory: status patches are applied as the API server would apply a merge patch. */
class FakeCluster implements ControllerCache, ControllerWriter {
  gatewayList: WireKubeGateway[] = [];
  peerList: WireKubePeer[] = [];
  leases: V1Lease[] = [];
  nodes = new Set<string>();
  patches: Array<{ name: string; patch: object }> = [];
  events: string[] = [];
  deleted: string[] = [];

  gateways() {
    return this.gatewayList;
  }
  peers() {
    return this.peerList;
  }
  mesh(): WireKubeMesh | undefined {
    return undefined;
  }
  healthLeases() {
    return this.leases;
  }
  nodeNames() {
    return this.nodes;
  }
  synced() {
    return true;
  }
  async patchGatewayStatus(name: string, patch: object) {
    this.patches.push({ name, patch });
    const gw = this.gatewayList.find((g) => g.metadata.name === name)!;
    gw.status = mergePatch(gw.status ?? {}, patch) as WireKubeGateway['status'];
  }
  async patchMeshStatus() {}
  async deletePeer(name: string) {
    this.deleted.push(name);
  }
  async event(involved: KubernetesObject, type: string, reason: string) {
    this.events.push(`${involved.metadata?.name} ${type} ${reason}`);
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = { ...((target as Record<string, unknown>) ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

describe('GatewayReconciler', () => {
  it('writes status on change only, records the failover Event, wakes at the Lease expiry', async () => {
    const cluster = new FakeCluster();
    cluster.gatewayList = [gateway()];
    cluster.peerList = [peer('node-b1'), peer('node-b2')];
    cluster.leases = [
      healthLease('vpc-b', 'node-b1', 'healthy', T0) as V1Lease,
      healthLease('vpc-b', 'node-b2', 'healthy', T0) as V1Lease,
    ];
    let now = T0 + 1000;
    const metrics = new ControllerMetrics();
    const reconciler = new GatewayReconciler({
      cache: cluster,
      writer: cluster,
      metrics,
      log,
      now: () => now,
    });

    expect(await reconciler.reconcile()).toEqual({ requeueAfterMs: 9050 });
    expect(cluster.gatewayList[0]?.status).toMatchObject({
      activePeer: 'node-b1',
      ready: true,
      routesInjected: 1,
    });
    expect(cluster.events).toEqual(['vpc-b Normal GatewayElected']);

    now += 2000;
    await reconciler.reconcile();
    expect(cluster.patches).toHaveLength(1);

    cluster.leases[0] = healthLease('vpc-b', 'node-b1', 'unhealthy', now) as V1Lease;
    await reconciler.reconcile();
    expect(cluster.gatewayList[0]?.status?.activePeer).toBe('node-b2');
    expect(cluster.events).toEqual(['vpc-b Normal GatewayElected', 'vpc-b Warning GatewayFailover']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('wirekube_gateway_active_peer{gateway="vpc-b",peer="node-b2"} 1');
    expect(text).toContain('wirekube_gateway_failovers_total{gateway="vpc-b"} 1');

    cluster.leases[1] = healthLease('vpc-b', 'node-b2', 'unhealthy', now) as V1Lease;
    await reconciler.reconcile();
    const status = cluster.gatewayList[0]?.status;
    expect(status?.activePeer).toBeUndefined();
    expect(status?.ready).toBe(false);
    expect(status?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'NoHealthyPeer' });
    expect(cluster.events.at(-1)).toBe('vpc-b Warning GatewayNotReady');
  });
});

describe('PeerGcReconciler', () => {
  it('deletes peers of removed Nodes', async () => {
    const cluster = new FakeCluster();
    cluster.peerList = [peer('node-a', { node: 'a' }), peer('node-gone', { node: 'gone' })];
    cluster.nodes = new Set(['a']);
    const metrics = new ControllerMetrics();
    const gc = new PeerGcReconciler({
      cache: cluster,
      writer: cluster,
      metrics,
      log,
      now: () => T0,
      graceMs: 60_000,
    });
    await gc.reconcile();
    expect(cluster.deleted).toEqual(['node-gone']);
  });
});
