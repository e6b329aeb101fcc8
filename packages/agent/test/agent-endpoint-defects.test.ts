import type { WireKubeMesh } from '@wirekube/crd-types';
import type { InformerLike } from '@wirekube/kube-runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentConfig, type AgentDeps } from '../src/daemon/agent.js';
import { internalSource } from '../src/endpoint/sources/internal.js';
import { stunSource } from '../src/endpoint/sources/stun.js';
import type { EndpointSource } from '../src/endpoint/types.js';
import { AgentMetrics } from '../src/metrics/metrics.js';
import type { StunQuery } from '../src/nat/probe.js';
import { FakeDataplane, FakeKube, publicOf, silentLog } from './fakes.js';
import { KEYS, peer } from './fixtures.js';

// Issue 11, items 1–5, through the whole agent against the fakes: each test is named after its defect.

const PRIVATE = 'private-key-1';
const SELF = 'node-n1';

let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

function meshObject(spec: WireKubeMesh['spec']): WireKubeMesh {
  return { apiVersion: 'wirekube.io/v1alpha1', kind: 'WireKubeMesh', metadata: { name: 'default' }, spec };
}

/** A cone NAT in front of the node whose public IP the test can change; the mapped port is the local one. */
function coneNat(address = '203.0.113.7') {
  const nat = { address, localPorts: [] as number[] };
  const query: StunQuery = async (servers, { localPort }) => {
    nat.localPorts.push(localPort);
    return servers.map((server) => ({ server, mapped: { address: nat.address, port: localPort || 40000 } }));
  };
  return { nat, query };
}

function setup(
  options: {
    config?: Partial<AgentConfig>;
    deps?: Partial<AgentDeps>;
    mesh?: WireKubeMesh['spec'];
    labels?: Record<string, string>;
  } = {},
) {
  const kube = new FakeKube();
  kube.meshes.set(
    'default',
    meshObject(options.mesh ?? { stunServers: ['198.51.100.2:3478', '198.51.100.3:3478'] }),
  );
  kube.nodes.set('n1', {
    metadata: {
      name: 'n1',
      uid: 'node-uid-1',
      annotations: {},
      ...(options.labels ? { labels: options.labels } : {}),
    },
    status: { addresses: [{ type: 'InternalIP', address: '10.1.0.2' }] },
  });
  const meshInformers: Array<InformerLike<WireKubeMesh> & { emit(verb: string, o: WireKubeMesh): void }> = [];
  const makeMeshInformer = kube.meshInformer.bind(kube);
  kube.meshInformer = () => {
    const informer = makeMeshInformer();
    meshInformers.push(informer);
    return informer;
  };
  const dataplane = new FakeDataplane();
  const { nat, query } = coneNat();
  const agent = new Agent(
    {
      nodeName: 'n1',
      reconcileIntervalMs: 60_000,
      debounceMs: 5,
      natRecheckIntervalMs: 60_000,
      ...options.config,
    },
    {
      kube,
      dataplane,
      stun: query,
      endpointSources: [stunSource, internalSource],
      keys: { load: async () => ({ privateKey: PRIVATE, publicKey: publicOf(PRIVATE), created: false }) },
      log: silentLog,
      metrics: new AgentMetrics(),
      ...options.deps,
    },
  );
  agents.push(agent);
  const updateMesh = (spec: WireKubeMesh['spec']) => {
    const next = meshObject(spec);
    kube.meshes.set('default', next);
    for (const informer of meshInformers) informer.emit('update', next);
  };
  const deleteOwnPeer = () => {
    const existing = kube.peers.get(SELF)!;
    kube.peers.delete(SELF);
    for (const informer of kube.peerInformers) informer.emit('delete', existing);
  };
  return { agent, kube, dataplane, nat, updateMesh, deleteOwnPeer };
}

async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('issue 11.1: a changed public IP is never published', () => {
  it('the re-check publishes the new public IP the ephemeral-port STUN answer shows', async () => {
    const { agent, kube, nat } = setup({ config: { natRecheckIntervalMs: 100 } });
    await agent.start();
    expect(kube.peers.get(SELF)!.spec.endpoint).toBe('203.0.113.7:51820');
    nat.address = '198.51.100.77';
    await eventually(() => kube.peers.get(SELF)!.spec.endpoint === '198.51.100.77:51820');
    expect(nat.localPorts.slice(1).every((p) => p === 0)).toBe(true); // WireGuard holds 51820
    expect(kube.events.map((e) => e.message)).toContain('endpoint 198.51.100.77:51820 (discovered by stun)');
  });
});

describe('issue 11.2: later endpoint sources never run again', () => {
  it('without STUN servers, UPnP runs at every re-check and before its lease ends, whatever the interval', async () => {
    const runs: number[] = [];
    const upnp: EndpointSource = {
      method: 'upnp',
      discover: async (c) => {
        runs.push(Date.now());
        return { endpoint: `203.0.113.40:${c.listenPort}`, method: 'upnp', refreshWithinMs: 60 };
      },
    };
    const { agent, kube } = setup({
      mesh: { stunServers: [] },
      deps: { endpointSources: [stunSource, upnp, internalSource] },
      config: { natRecheckIntervalMs: 3_600_000 },
    });
    await agent.start();
    await eventually(() => runs.length >= 4);
    expect(kube.peers.get(SELF)!.spec.endpoint).toBe('203.0.113.40:51820');
    expect(kube.peers.get(SELF)!.status?.endpointDiscoveryMethod).toBe('upnp');
  });
});

describe('issue 11.3: a mesh listenPort change keeps the old port in the published endpoint', () => {
  it('the endpoint moves to the new port, discovered from that port before WireGuard takes it', async () => {
    const { agent, kube, nat, dataplane, updateMesh } = setup();
    await agent.start();
    expect(kube.peers.get(SELF)!.spec.endpoint).toBe('203.0.113.7:51820');
    updateMesh({ stunServers: ['198.51.100.2:3478', '198.51.100.3:3478'], listenPort: 51999 });
    await eventually(() => kube.peers.get(SELF)!.spec.endpoint === '203.0.113.7:51999');
    expect(nat.localPorts).toContain(51999);
    await eventually(() => dataplane.device?.listenPort === 51999);
    expect(kube.peers.get(SELF)!.metadata.annotations?.['wirekube.io/internal-endpoint']).toBe(
      '10.1.0.2:51999',
    );
  });

  it('an agent restarted after the change (adopted interface on the old port) publishes the new port', async () => {
    const { agent, kube, nat, dataplane } = setup({
      mesh: { stunServers: ['198.51.100.2:3478', '198.51.100.3:3478'], listenPort: 51999 },
    });
    dataplane.device = { publicKey: publicOf(PRIVATE), listenPort: 51820, peers: [] };
    await kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE), endpoint: '203.0.113.7:51820' }));
    await agent.start();
    expect(agent.interfaceOutcome).toBe('adopted');
    expect(nat.localPorts[0]).toBe(51999);
    expect(kube.peers.get(SELF)!.spec.endpoint).toBe('203.0.113.7:51999');
  });
});

describe('issue 11.4: a deleted own WireKubePeer comes back wrong', () => {
  it('comes back at once, with the discovered endpoint (not InternalIP:51820), while the Node is in the mesh', async () => {
    const { agent, kube, deleteOwnPeer } = setup({ labels: { 'wirekube.io/vpn-enabled': 'true' } });
    await agent.start();
    deleteOwnPeer();
    await eventually(() => kube.peers.has(SELF), 1_000);
    const own = kube.peers.get(SELF)!;
    expect(own.spec.endpoint).toBe('203.0.113.7:51820');
    expect(own.spec.allowedIPs).toEqual(['10.1.0.2/32']);
  });

  it.each([
    ['labelled out', { 'wirekube.io/vpn-enabled': 'false' }],
    ['without the label', {}],
  ])('stays deleted when the Node is %s', async (_name, labels) => {
    const { agent, kube, deleteOwnPeer } = setup({ labels, config: { natRecheckIntervalMs: 50 } });
    // Created while the Node was in the mesh; the seed's removal then takes the label off and deletes the CR.
    await kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE), endpoint: '203.0.113.7:51820' }));
    await agent.start();
    deleteOwnPeer();
    await new Promise((r) => setTimeout(r, 300)); // several re-checks
    expect(kube.peers.has(SELF)).toBe(false);
  });
});

describe('issue 11.5: the API server is not protected in-cluster', () => {
  it('watched API server addresses get a lookup-main rule ahead of table 22347, updated on change', async () => {
    const watched = { list: ['10.0.0.5'] };
    const { agent, kube, dataplane } = setup({
      deps: { protectedSources: [{ addresses: () => watched.list }] },
      config: { protectedAddresses: ['10.96.0.1'] },
    });
    kube.putPeer(
      peer('cp', { publicKey: KEYS.a, allowedIPs: ['10.0.0.0/24'], endpoint: '198.51.100.9:51820' }),
    );
    await agent.start();
    const rules = () =>
      dataplane.applied
        .at(-1)!
        .rules.filter((r) => r.priority === 198)
        .map((r) => r.destination);
    expect(rules()).toEqual(['10.0.0.5/32', '10.96.0.1/32']);
    watched.list = ['10.0.0.6'];
    await agent.reconcileNow();
    expect(rules()).toEqual(['10.0.0.6/32', '10.96.0.1/32']);
  });
});

describe('issue 11.4: start-up on a Node labelled out of the mesh', () => {
  it('creates no own WireKubePeer', async () => {
    const { agent, kube } = setup({ labels: { 'wirekube.io/vpn-enabled': 'false' } });
    await agent.start();
    expect(kube.peers.has(SELF)).toBe(false);
  });
});
