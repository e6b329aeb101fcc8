import { resolveMeshSpec, type WireKubePeer } from '@wirekube/crd-types';
import { Backoff, type ReconcileLoop, ResilientInformer } from '@wirekube/kube-runtime';
import { FakeClock } from '@wirekube/kube-runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointRecheck, recheckDelay } from '../src/daemon/recheck.js';
import { AgentReconciler, newAgentLoop } from '../src/daemon/reconciler.js';
import type { NodeState } from '../src/daemon/state.js';
import type { ApplySummary, DeviceSnapshot } from '../src/dataplane/types.js';
import { AgentMetrics } from '../src/metrics/metrics.js';
import type { DesiredNode } from '../src/plan/types.js';
import { FakeDataplane, FakeKube, publicOf, silentLog } from './fakes.js';
import { KEYS, peer } from './fixtures.js';

const PRIVATE = 'private-key-1';

/** Records how often the device is read and what reading each apply was handed. */
class RecordingDataplane extends FakeDataplane {
  reads = 0;
  handed: Array<DeviceSnapshot | undefined> = [];
  failures = 0;
  override async readDevice() {
    this.reads += 1;
    return super.readDevice();
  }
  override async apply(desired: DesiredNode, device?: DeviceSnapshot): Promise<ApplySummary> {
    this.handed.push(device);
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('netlink: EBUSY');
    }
    return super.apply(desired);
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(options: { recheckIntervalMs?: number; readbackIntervalMs?: number } = {}) {
  const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));
  const kube = new FakeKube();
  const dataplane = new RecordingDataplane();
  dataplane.device = { publicKey: publicOf(PRIVATE), listenPort: 51820, peers: [] };
  const metrics = new AgentMetrics();
  const state: NodeState = {
    mesh: resolveMeshSpec(undefined),
    keys: { privateKey: PRIVATE, publicKey: publicOf(PRIVATE), created: false },
    node: { annotations: {}, addresses: [{ type: 'InternalIP', address: '10.1.0.2' }] },
    nat: { observations: [], portInUse: true, natType: 'cone' },
    endpoint: { endpoint: '203.0.113.7:51820', method: 'stun' },
    hostAddresses: ['10.1.0.2'],
  };
  await kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE), allowedIPs: ['10.1.0.2/32'] }));
  let loop: ReconcileLoop | undefined;
  const peers = new ResilientInformer<WireKubePeer>({
    name: 'wirekubepeers',
    informer: kube.peerInformer(),
    log: silentLog,
    onChange: () => loop?.trigger('peer'),
    clock,
  });
  await peers.start();
  const rechecks: number[] = [];
  const recheck = new EndpointRecheck({
    intervalMs: options.recheckIntervalMs ?? 300_000,
    run: async () => {
      rechecks.push(clock.now());
    },
    log: silentLog,
    metrics,
  });
  recheck.markDone(clock.now());
  const reconciler = new AgentReconciler(
    { nodeName: 'n1', readbackIntervalMs: options.readbackIntervalMs ?? 5_000 },
    { kube, dataplane, metrics, log: silentLog, peers, recheck, now: () => clock.now() },
    state,
  );
  loop = newAgentLoop(reconciler, {
    log: silentLog,
    metrics,
    clock,
    readbackIntervalMs: options.readbackIntervalMs ?? 5_000,
    backoff: new Backoff(1_000, 5_000, () => 0.5),
  });
  const started = loop;
  cleanups.push(async () => {
    await started.stop();
    await peers.stop();
  });
  const t0 = clock.now();
  const at = () => clock.now() - t0;
  return { clock, kube, dataplane, metrics, loop, reconciler, rechecks, at, t0 };
}

async function counter(metrics: AgentMetrics, result: string): Promise<number> {
  const json = await metrics.reconciles.get();
  return json.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('AgentReconciler on a ReconcileLoop', () => {
  // The first pass writes the own status; that watch event is one more (debounced) pass at 100 ms, as before.
  const FIRST = 100;

  it('requeue-after: WireGuard is read back every read-back interval without any timer of its own', async () => {
    const { clock, loop, dataplane } = await setup({ readbackIntervalMs: 5_000 });
    loop.start();
    await clock.advance(FIRST);
    expect(dataplane.applied).toHaveLength(2);
    expect(clock.pending()).toEqual([5_000]);
    await clock.advance(15_000);
    expect(dataplane.applied).toHaveLength(5);
    expect(clock.pending()).toEqual([5_000]);
  });

  it('requeue-after: the endpoint re-check is a step of the pass, and an earlier due re-check wins', async () => {
    const { clock, loop, rechecks, at, t0 } = await setup({
      recheckIntervalMs: 7_000,
      readbackIntervalMs: 5_000,
    });
    loop.start();
    await clock.advance(FIRST);
    expect(clock.pending()).toEqual([5_000]);
    await clock.advance(5_000);
    expect(clock.pending()).toEqual([1_900]); // the re-check falls due (at 7 s) before the next read-back
    await clock.advance(1_900);
    expect(rechecks.map((t) => t - t0)).toEqual([7_000]);
    expect(at()).toBe(7_000);
    expect(clock.pending()).toEqual([5_000]);
  });

  it('reads the device once per pass and hands that reading to the applier', async () => {
    const { clock, loop, dataplane } = await setup();
    loop.start();
    await clock.advance(FIRST + 10_000);
    expect(dataplane.reads).toBe(4);
    expect(dataplane.handed).toHaveLength(4);
    expect(dataplane.handed[0]).toEqual({ publicKey: publicOf(PRIVATE), listenPort: 51820, peers: [] });
  });

  it('error backoff: a failed apply is retried after 1 s, 2 s, then the read-back resumes; outcomes counted', async () => {
    const { clock, loop, dataplane, metrics, reconciler } = await setup();
    dataplane.failures = 2;
    loop.start();
    await clock.advance(0);
    expect(reconciler.lastApplied).toBeUndefined();
    expect(clock.pending()).toEqual([1_000]);
    await clock.advance(1_000);
    expect(clock.pending()).toEqual([2_000]);
    await clock.advance(2_000);
    expect(dataplane.handed).toHaveLength(3);
    expect(reconciler.lastApplied).toBeDefined();
    await clock.advance(FIRST);
    expect(clock.pending()).toEqual([5_000]);
    expect(await counter(metrics, 'error')).toBe(2);
    expect(await counter(metrics, 'requeue_after')).toBe(2);
  });

  it('coalesces a burst of watch events into one pass that sees all of them', async () => {
    const { clock, loop, kube, dataplane } = await setup();
    loop.start();
    await clock.advance(FIRST);
    const before = dataplane.applied.length;
    const keys = [KEYS.a, KEYS.b, KEYS.c];
    for (let i = 0; i < 3; i += 1) {
      kube.putPeer(peer(`p${i}`, { publicKey: keys[i]!, allowedIPs: [`10.2.0.${i + 1}/32`] }));
      await clock.advance(10);
    }
    await clock.advance(100);
    expect(dataplane.applied.length).toBe(before + 1);
    expect(dataplane.applied.at(-1)!.device.peers.map((p) => p.name)).toEqual([
      'node-p0',
      'node-p1',
      'node-p2',
    ]);
  });
});

describe('recheckDelay', () => {
  it.each([
    [undefined, 1_000, 300_000, 0],
    [1_000, 1_000, 300_000, 300_000],
    [1_000, 301_000, 300_000, 0],
    [1_000, 401_000, 300_000, -100_000],
  ])('last %s, now %s, every %s → %s', (last, now, interval, expected) => {
    expect(recheckDelay(last, now, interval)).toBe(expected);
  });
});
