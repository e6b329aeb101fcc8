// PathController wired to fakes behind our own interfaces: the real plan() and the contract-keeping
// FakeDataplane as the WireGuard device, a relay link whose proxy counts packets like UdpProxy, a prober whose
// probes travel the simulated path, and FakeClock driving the sampling loop. One timeline: direct → blackhole
// → relay → (a failed attempt while still blackholed) → drop lifted → upgraded to direct at the shared slot.

import { resolveMeshSpec } from '@wirekube/crd-types';
import { FakeClock } from '@wirekube/kube-runtime/testing';
import type { PeerProxyCounters } from '@wirekube/relay';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type PathContext, PathController } from '../src/path/controller.js';
import { SAMPLE_MS, UPGRADE_WINDOW_MS } from '../src/path/machine.js';
import { PathMetrics } from '../src/path/metrics.js';
import { attemptSlots } from '../src/path/schedule.js';
import type { PathChange } from '../src/path/selector.js';
import type { ProbeResult } from '../src/path/types.js';
import { plan } from '../src/plan/plan.js';
import type { ObservedPeer } from '../src/plan/types.js';
import type { LivenessProber } from '../src/probe/prober.js';
import type { LivenessResponder } from '../src/probe/responder.js';
import type { DesiredRelay, RelayLink } from '../src/relay/connection.js';
import { FakeDataplane, silentLog } from './fakes.js';
import { KEYS, PRIVATE_KEY, peer } from './fixtures.js';

const DIRECT = '203.0.113.2:51820';
const PROXY = '127.0.0.1:40001';
const PACKET = 148;
const RETRY_MS = 15_000;
const TICK_MS = 10;

const mesh = resolveMeshSpec({
  relay: {
    mode: 'auto',
    provider: 'external',
    external: { endpoint: '198.51.100.9:3478' },
    handshakeTimeoutSeconds: 10,
    directRetryIntervalSeconds: RETRY_MS / 1000,
  },
});
const self = peer('self', {
  publicKey: KEYS.self,
  allowedIPs: ['10.0.0.1/32'],
  endpoint: '203.0.113.1:51820',
});
const remote = {
  ...peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'], endpoint: DIRECT }),
  status: { natType: 'cone' as const },
};

/** The relay side as path selection sees it; its proxy counts datagrams per peer the way UdpProxy does. */
class FakeRelayLink implements RelayLink {
  ready = false;
  readonly addresses: string[] = [];
  readonly counters: PeerProxyCounters = {
    txPackets: 0,
    txBytes: 0,
    txDrops: 0,
    lastTxAt: 0,
    rxPackets: 0,
    rxBytes: 0,
    lastRxAt: 0,
  };
  private peers: readonly string[] = [];

  async set(desired: DesiredRelay): Promise<void> {
    this.ready = desired.target !== undefined;
    this.addresses.splice(0, this.addresses.length, ...(desired.target ? [desired.target.host] : []));
    this.peers = desired.target ? desired.peers : [];
  }
  async close(): Promise<void> {
    this.ready = false;
    this.peers = [];
  }
  proxyEndpoint(key: string): string | undefined {
    return this.peers.includes(key) ? PROXY : undefined;
  }
  proxyCounters(key: string): PeerProxyCounters | undefined {
    return this.peers.includes(key) ? { ...this.counters } : undefined;
  }
}

/**
 * Both nodes' WireGuard traffic, 10 ms at a time: each side pings the other. The remote side has no agent of
 * its own here: its WireGuard roams to wherever our packets last came from, and answers that way. A packet
 * from the relay roams our WireGuard to the proxy; one from the direct address roams it there.
 */
class Network {
  blackhole = false;
  private remotePath: 'direct' | 'relay' = 'direct';

  constructor(
    private readonly clock: FakeClock,
    private readonly device: FakeDataplane,
    private readonly relay: FakeRelayLink,
  ) {}

  private wg(): ObservedPeer | undefined {
    return this.device.device?.peers.find((p) => p.publicKey === KEYS.a);
  }

  /** Our WireGuard sends one datagram to wherever its endpoint points; true when it reaches the remote. */
  send(): boolean {
    const wg = this.wg();
    if (!wg?.endpoint) return false;
    wg.txBytes += PACKET;
    if (wg.endpoint === PROXY) {
      this.relay.counters.txPackets++;
      this.relay.counters.txBytes += PACKET;
      if (!this.relay.ready) return false;
      this.remotePath = 'relay';
      return true;
    }
    if (this.blackhole) return false;
    this.remotePath = 'direct';
    return true;
  }

  /** The remote answers (or sends) one datagram the way its WireGuard points. */
  receive(): boolean {
    const wg = this.wg();
    if (!wg) return false;
    if (this.remotePath === 'relay') {
      if (!this.relay.ready) return false;
      this.relay.counters.rxPackets++;
      this.relay.counters.rxBytes += PACKET;
      wg.endpoint = PROXY;
    } else {
      if (this.blackhole) return false;
      wg.endpoint = DIRECT;
    }
    wg.rxBytes += PACKET;
    wg.lastHandshakeMs ??= this.clock.now();
    return true;
  }

  tick(): void {
    if (this.send()) this.receive(); // our ping and its reply
    if (this.receive()) this.send(); // the remote's ping and our reply
  }
}

/** Probes take the simulated path: answered in 1 ms when both directions get through, else lost after 1 s. */
class SimulatedProber implements LivenessProber {
  sent = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly network: Network,
  ) {}
  probe(_address: string): Promise<ProbeResult> {
    this.sent++;
    const sentAtMs = this.clock.now();
    const answered = this.network.send() && this.network.receive();
    return new Promise((resolve) => {
      if (answered) this.clock.setTimeout(() => resolve({ sentAtMs, ok: true, rttMs: 1 }), 1);
      else this.clock.setTimeout(() => resolve({ sentAtMs, ok: false }), 1_000);
    });
  }
  close(): void {}
}

class NullResponder implements LivenessResponder {
  address: string | undefined;
  async set(address: string | undefined): Promise<void> {
    this.address = address;
  }
  async close(): Promise<void> {
    this.address = undefined;
  }
}

let controller: PathController | undefined;
afterEach(async () => {
  await controller?.stop();
  controller = undefined;
});

/** A start time that puts the pair's first upgrade slot 8 s in (while the drop is still on). */
function startAt(): number {
  const base = Date.parse('2026-12-01T12:00:00Z');
  const slot = attemptSlots(KEYS.self, KEYS.a, RETRY_MS, base).nextMs;
  return slot - 8_000;
}

describe('PathController on a simulated pair (FakeClock, fake device, relay and prober)', () => {
  it('direct → blackhole → relay within 3 s → failed attempt costs ≤ 1 s → lifted → direct at the slot', async () => {
    const T0 = startAt();
    const clock = new FakeClock(T0);
    const device = new FakeDataplane();
    const relay = new FakeRelayLink();
    const network = new Network(clock, device, relay);
    const prober = new SimulatedProber(clock, network);
    const changes: Array<PathChange & { at: number }> = [];
    const sets: Array<{ at: number; endpoint: string | undefined; force: boolean }> = [];

    // The agent's applies run one at a time (its ReconcileLoop never overlaps passes): so do these.
    let applying = Promise.resolve();
    const apply = () => {
      applying = applying.then(applyOnce);
      return applying;
    };
    const applyOnce = async () => {
      const observed = new Map((device.device?.peers ?? []).map((p) => [p.publicKey, p]));
      const nowMs = clock.now();
      const desired = plan({
        nodeName: 'self',
        mesh,
        privateKey: PRIVATE_KEY,
        publicKey: KEYS.self,
        self,
        peers: [self, remote],
        observed,
        publicIP: '203.0.113.1',
        protectedAddresses: [],
        nowMs,
      });
      const ctx: PathContext = {
        mesh,
        desired,
        peers: [self, remote],
        self,
        publicIP: '203.0.113.1',
        hostAddresses: ['10.1.0.2'],
        natType: 'cone',
      };
      const wanted = (await controller!.prepare(ctx)).device.peers.find((p) => p.publicKey === KEYS.a);
      await device.apply({ ...desired, device: { ...desired.device, peers: wanted ? [wanted] : [] } });
      // What the agent asks of the device: the endpoint, and whether it overrides a roamed one (a roam is not a set).
      const set = { endpoint: wanted?.endpoint, force: wanted?.keepRoamedEndpoint === false };
      const last = sets.at(-1);
      if (last?.endpoint !== set.endpoint) sets.push({ at: nowMs - T0, ...set });
    };
    controller = new PathController({
      publicKey: KEYS.self,
      privateKey: PRIVATE_KEY,
      log: silentLog,
      metrics: new PathMetrics(new Registry()),
      readDevice: (name) => device.readDevice().then((d) => (name === mesh.interfaceName ? d : undefined)),
      requestApply: apply,
      onChange: (change) => changes.push({ ...change, at: clock.now() - T0 }),
      relayService: { namespace: 'wirekube-system', name: 'wirekube-relay' },
      clock,
      relay,
      prober,
      responder: new NullResponder(),
    });

    await apply(); // the agent's first pass configures the peer
    controller.start();
    const run = async (untilMs: number) => {
      while (clock.now() - T0 < untilMs) {
        network.tick();
        await clock.advance(TICK_MS);
      }
    };

    await run(5_000);
    expect(sets).toEqual([{ at: 0, endpoint: DIRECT, force: true }]);
    expect(controller.transports(await planned(), observedOf(device)).get('node-a')).toBe('direct');
    expect(prober.sent).toBe(0); // traffic flows both ways: nothing to ask

    network.blackhole = true;
    await run(8_000);
    const relayed = sets[1];
    expect(relayed).toMatchObject({ endpoint: PROXY, force: true });
    // Traffic stops at 5000; the stall is seen within 2 samples, the probe is lost after 1 s.
    expect(relayed!.at - 5_000).toBeLessThanOrEqual(3_000);
    expect(relayed!.at - 5_000).toBeGreaterThanOrEqual(1_000 + SAMPLE_MS);
    expect(changes).toEqual([
      expect.objectContaining({ peer: 'node-a', from: 'direct', to: 'relay', reason: 'liveness-lost' }),
    ]);

    // The slot at 8 s comes while the drop is still on: the attempt points direct, proves nothing (the remote's
    // relayed pings roam WireGuard back to the proxy and the proxy counts them), and ends on the proxy.
    await run(9_500);
    const attempt = sets.slice(2);
    expect(attempt[0]).toMatchObject({ endpoint: DIRECT, force: true });
    expect(attempt[0]!.at).toBeGreaterThanOrEqual(8_000);
    expect(attempt[0]!.at).toBeLessThan(8_000 + SAMPLE_MS);
    const backOnProxy = attempt.findLast((s) => s.endpoint === PROXY);
    expect(backOnProxy!.at - attempt[0]!.at).toBeLessThanOrEqual(UPGRADE_WINDOW_MS + 2 * TICK_MS);
    expect(device.device?.peers[0]?.endpoint).toBe(PROXY);
    expect(changes).toHaveLength(1);

    network.blackhole = false;
    await run(22_900);
    // Lifted, but relayed pairs move only at a shared slot: still on the proxy, nothing set since.
    expect(device.device?.peers[0]?.endpoint).toBe(PROXY);
    expect(sets.at(-1)).toEqual(backOnProxy);

    await run(26_000);
    const upgrade = sets.slice(sets.indexOf(backOnProxy!) + 1);
    expect(upgrade[0]).toMatchObject({ endpoint: DIRECT, force: true });
    expect(upgrade[0]!.at).toBeGreaterThanOrEqual(23_000);
    expect(upgrade[0]!.at).toBeLessThan(23_000 + SAMPLE_MS);
    expect(upgrade.every((s) => s.endpoint === DIRECT)).toBe(true);
    expect(changes.slice(1)).toEqual([
      expect.objectContaining({ peer: 'node-a', from: 'relay', to: 'direct', reason: 'upgraded' }),
    ]);
    expect(changes[1]!.at - 23_000).toBeLessThan(UPGRADE_WINDOW_MS);
    expect(device.device?.peers[0]?.endpoint).toBe(DIRECT);
    expect(controller.transports(await planned(), observedOf(device)).get('node-a')).toBe('direct');
    // Proven direct: no longer forced (a later roam is followed), and it stays direct with no more probes.
    const probesAfterUpgrade = prober.sent;
    await run(30_000);
    expect(sets.at(-1)).toMatchObject({ endpoint: DIRECT });
    expect(device.applied.at(-1)?.device.peers[0]?.keepRoamedEndpoint).toBe(true);
    expect(changes).toHaveLength(2);
    expect(prober.sent).toBe(probesAfterUpgrade);

    async function planned() {
      return plan({
        nodeName: 'self',
        mesh,
        privateKey: PRIVATE_KEY,
        publicKey: KEYS.self,
        self,
        peers: [self, remote],
        observed: observedOf(device),
        publicIP: '203.0.113.1',
        protectedAddresses: [],
        nowMs: clock.now(),
      });
    }
  }, 60_000); // 3 000 FakeClock steps: seconds on a loaded machine
});

function observedOf(device: FakeDataplane): Map<string, ObservedPeer> {
  return new Map((device.device?.peers ?? []).map((p) => [p.publicKey, p]));
}

/** A controller with nothing but a relay link: for what it says before the sampling loop ever runs. */
const bareController = (relay: RelayLink) =>
  new PathController({
    publicKey: KEYS.self,
    privateKey: PRIVATE_KEY,
    log: silentLog,
    metrics: new PathMetrics(new Registry()),
    readDevice: async () => undefined,
    requestApply: async () => undefined,
    onChange: () => undefined,
    relayService: { namespace: 'wirekube-system', name: 'wirekube-relay' },
    relay,
    responder: new NullResponder(),
  });

describe('PathController before the first pass', () => {
  // After an agent restart the relay-link (another process) is still connected: the first plan must already
  // protect the relay and keep the loopback exception, or the first apply removes both for one pass.
  it('knows the relay target and the surviving link addresses before any prepare()', async () => {
    const relay = new FakeRelayLink();
    let refreshed = 0;
    const link: RelayLink = Object.assign(relay, {
      async refresh() {
        refreshed++;
        relay.addresses.splice(0, relay.addresses.length, '198.51.100.10');
      },
    });
    const early = bareController(link);
    expect(early.relayProxyOpen()).toBe(false);
    await early.beforePlan(mesh);
    expect(refreshed).toBe(1);
    expect(early.relayProxyOpen()).toBe(true);
    expect(early.protectedAddresses()).toEqual(['198.51.100.10', '198.51.100.9']);
    // Without a relay in the mesh there is nothing to protect.
    const none = bareController(new FakeRelayLink());
    await none.beforePlan(resolveMeshSpec({ relay: { mode: 'never' } }));
    expect(none.relayProxyOpen()).toBe(false);
    await none.stop();
    await early.stop();
  });
});
