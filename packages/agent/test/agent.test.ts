import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentConfig, type AgentDeps } from '../src/daemon/agent.js';
import { internalSource } from '../src/endpoint/sources/internal.js';
import { stunSource } from '../src/endpoint/sources/stun.js';
import { AgentMetrics } from '../src/metrics/metrics.js';
import type { StunQuery } from '../src/nat/probe.js';
import { StunPortInUseError } from '../src/stun/binding.js';
import { FakeDataplane, FakeKube, publicOf, silentLog } from './fakes.js';
import { KEYS, peer } from './fixtures.js';

const PRIVATE = 'private-key-1';

function mesh(stunServers: string[] = ['198.51.100.2:3478', '198.51.100.3:3478']) {
  return {
    apiVersion: 'wirekube.io/v1alpha1' as const,
    kind: 'WireKubeMesh' as const,
    metadata: { name: 'default' },
    spec: { stunServers },
  };
}

const coneStun: StunQuery = async (servers, { localPort }) =>
  servers.map((server) => ({ server, mapped: { address: '203.0.113.7', port: localPort || 40000 } }));

let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

function setup(overrides: Partial<AgentDeps> = {}, privateKey = PRIVATE, config: Partial<AgentConfig> = {}) {
  const kube = new FakeKube();
  kube.meshes.set('default', mesh());
  kube.nodes.set('n1', {
    metadata: { name: 'n1', uid: 'node-uid-1', annotations: {} },
    status: { addresses: [{ type: 'InternalIP', address: '10.1.0.2' }] },
  });
  const dataplane = new FakeDataplane();
  const stunCalls: number[] = [];
  const stun: StunQuery = async (servers, options) => {
    stunCalls.push(options.localPort);
    return coneStun(servers, options);
  };
  const deps: AgentDeps = {
    kube,
    dataplane,
    stun,
    endpointSources: [stunSource, internalSource],
    keys: { load: async () => ({ privateKey, publicKey: publicOf(privateKey), created: false }) },
    log: silentLog,
    metrics: new AgentMetrics(),
    ...overrides,
  };
  const agent = new Agent({ nodeName: 'n1', reconcileIntervalMs: 60_000, ...config }, deps);
  agents.push(agent);
  return { agent, kube, dataplane, stunCalls, deps };
}

describe('Agent start-up', () => {
  it('creates the interface after STUN from the listen port and publishes its own WireKubePeer', async () => {
    const { agent, kube, dataplane, stunCalls } = setup();
    await agent.start();
    expect(agent.interfaceOutcome).toBe('created');
    expect(stunCalls).toEqual([51820]);
    expect(dataplane.calls).toEqual(['create wire_kube mtu 1420']);
    const own = kube.peers.get('node-n1')!;
    expect(own.metadata.labels).toEqual({ 'wirekube.io/node': 'n1' });
    expect(own.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid-1' },
    ]);
    expect(own.metadata.annotations).toEqual({ 'wirekube.io/internal-endpoint': '10.1.0.2:51820' });
    expect(own.spec).toEqual({
      publicKey: publicOf(PRIVATE),
      endpoint: '203.0.113.7:51820',
      persistentKeepalive: 25,
      allowedIPs: ['10.1.0.2/32'],
    });
    expect(own.status).toMatchObject({ natType: 'cone', endpointDiscoveryMethod: 'stun', connected: false });
    expect(agent.ready()).toEqual({ ready: true });
  });

  it('adopts an interface whose key matches: no delete, no create, and the published endpoint is kept', async () => {
    const { agent, kube, dataplane, stunCalls } = setup();
    dataplane.device = { publicKey: publicOf(PRIVATE), listenPort: 51820, peers: [] };
    await kube.createPeer(
      peer('n1', {
        publicKey: publicOf(PRIVATE),
        // The public IP STUN sees from the ephemeral port; the port is WireGuard's own mapping (issue 11.1:
        // a different public IP would be published).
        endpoint: '203.0.113.7:21789',
        allowedIPs: ['10.1.0.2/32'],
      }),
    );
    await agent.start();
    expect(agent.interfaceOutcome).toBe('adopted');
    expect(dataplane.calls).toEqual([]);
    expect(stunCalls).toEqual([0]); // the port is WireGuard's: NAT type from an ephemeral port only
    expect(kube.peers.get('node-n1')!.spec.endpoint).toBe('203.0.113.7:21789');
    expect(kube.peers.get('node-n1')!.status?.natType).toBe('cone');
  });

  it('recreates an interface whose key does not match', async () => {
    const { agent, dataplane } = setup();
    dataplane.device = { publicKey: publicOf('some-older-key'), listenPort: 51820, peers: [] };
    await agent.start();
    expect(agent.interfaceOutcome).toBe('recreated');
    expect(dataplane.calls).toEqual(['delete wire_kube', 'create wire_kube mtu 1420']);
  });

  it('configures a key-less interface (a fresh wireguard-go from its own DaemonSet) instead of deleting it', async () => {
    const { agent, dataplane, stunCalls } = setup();
    dataplane.device = { listenPort: 0, peers: [] };
    await agent.start();
    expect(agent.interfaceOutcome).toBe('created');
    expect(dataplane.calls).toEqual(['create wire_kube mtu 1420']);
    expect(stunCalls).toEqual([51820]);
  });

  it('keeps the CR endpoint when the port turns out to be held at start', async () => {
    const stun: StunQuery = async (servers, options) => {
      if (options.localPort !== 0) throw new StunPortInUseError(options.localPort);
      return coneStun(servers, options);
    };
    const { agent, kube } = setup({ stun });
    await kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE), endpoint: '203.0.113.7:21789' }));
    await agent.start();
    expect(kube.peers.get('node-n1')!.spec.endpoint).toBe('203.0.113.7:21789');
  });

  it('never overwrites allowedIPs a user set, and reports one STUN answer as undetermined NAT', async () => {
    const stun: StunQuery = async (servers) => [
      { server: servers[0]!, mapped: { address: '203.0.113.7', port: 51820 } },
      { server: servers[1]!, error: 'no answer after 3 attempts' },
    ];
    const { agent, kube } = setup({ stun });
    await kube.createPeer(peer('n1', { publicKey: 'stale', allowedIPs: ['10.99.0.1/32', '172.30.0.0/16'] }));
    await agent.start();
    const own = kube.peers.get('node-n1')!;
    expect(own.spec.allowedIPs).toEqual(['10.99.0.1/32', '172.30.0.0/16']);
    expect(own.spec.publicKey).toBe(publicOf(PRIVATE));
    expect(own.status?.natType).toBe('');
  });

  it('records Events on its own peer when the endpoint or the NAT type changes', async () => {
    const { agent, kube } = setup();
    await kube.createPeer({
      ...peer('n1', { publicKey: publicOf(PRIVATE), endpoint: '203.0.113.1:51820' }),
      status: { natType: 'symmetric' },
    });
    await agent.start();
    expect(
      kube.events.filter((e) => e.object === 'node-n1').map((e) => [e.type, e.reason, e.message]),
    ).toEqual([
      ['Normal', 'EndpointChanged', 'endpoint 203.0.113.7:51820 (discovered by stun)'],
      ['Normal', 'NATTypeChanged', 'NAT type symmetric → cone'],
    ]);
  });

  it('waits for the mesh instead of guessing defaults', async () => {
    const { agent, kube } = setup();
    kube.meshes.clear();
    const started = agent.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(agent.ready()).toEqual({ ready: false, reason: 'waiting for WireKubeMesh default' });
    kube.meshes.set('default', mesh());
    await started; // the first retry comes after about a second
    expect(agent.ready()).toEqual({ ready: true });
  }, 10_000);
});

describe('Agent reconcile', () => {
  it('configures valid peers, skips a bad one with one Event, and writes status only when it changes', async () => {
    const { agent, kube, dataplane } = setup();
    kube.putPeer(
      peer('a', { publicKey: KEYS.a, endpoint: '198.51.100.7:51820', allowedIPs: ['10.2.0.2/32'] }),
    );
    kube.putPeer(peer('bad', { publicKey: 'not-a-key', allowedIPs: ['10.2.0.9/32'] }));
    await agent.start();
    const last = dataplane.applied.at(-1)!;
    expect(last.device.peers.map((p) => p.name)).toEqual(['node-a']);
    expect(last.routes).toEqual([
      { destination: '10.2.0.2/32', device: 'wire_kube', table: 22347, source: '10.1.0.2' },
    ]);
    expect(kube.events.filter((e) => e.reason === 'PeerSkipped')).toEqual([
      {
        object: 'node-bad',
        type: 'Warning',
        reason: 'PeerSkipped',
        message: 'skipped by n1: publicKey is not a base64 WireGuard key ("not-a-key")',
      },
    ]);
    const writes = kube.statusWrites.length;
    await agent.reconcileNow();
    await agent.reconcileNow();
    expect(kube.statusWrites.length).toBe(writes);
    expect(kube.events.filter((e) => e.reason === 'PeerSkipped')).toHaveLength(1);
    // Issue 10: a peer with no handshake on either path is not "direct"; once WireGuard reports one, it is.
    expect(kube.peers.get('node-n1')!.status?.peerTransports).toEqual({});
    const observed = dataplane.device!.peers[0]!;
    dataplane.device!.peers[0] = { ...observed, endpoint: '198.51.100.7:51820', lastHandshakeMs: Date.now() };
    await agent.reconcileNow();
    expect(kube.peers.get('node-n1')!.status?.peerTransports).toEqual({ 'node-a': 'direct' });
    expect(kube.peers.get('node-n1')!.status?.transportMode).toBe('direct');
  });

  it('recreates an interface someone deleted and re-applies everything', async () => {
    const { agent, dataplane } = setup();
    await agent.start();
    dataplane.device = undefined;
    await agent.reconcileNow();
    expect(dataplane.calls).toEqual(['create wire_kube mtu 1420', 'create wire_kube mtu 1420']);
  });

  it('never routes its own host addresses or the protected API server address', async () => {
    const { agent, kube, dataplane } = setup();
    kube.putPeer(peer('a', { publicKey: KEYS.a, allowedIPs: ['10.2.0.2/32', '10.1.0.2/32'] }));
    await agent.start();
    expect(dataplane.applied.at(-1)!.skipped).toEqual([
      { name: 'node-a', reason: 'allowedIPs rejected: 10.1.0.2/32 overlaps 10.1.0.2/32 of node-n1' },
    ]);
  });

  it('a peer prefix covering the API server is withheld with one RouteWithheld Event (chaos, issue 15)', async () => {
    const { agent, kube, dataplane } = setup({}, PRIVATE, { protectedAddresses: ['198.51.100.20'] });
    kube.putPeer(peer('a', { publicKey: KEYS.a, allowedIPs: ['10.2.0.2/32', '198.51.100.0/24'] }));
    await agent.start();
    await agent.reconcileNow();
    expect(dataplane.applied.at(-1)!.routes.map((r) => r.destination)).toEqual(['10.2.0.2/32']);
    expect(kube.events.filter((e) => e.reason === 'RouteWithheld')).toEqual([
      {
        object: 'node-a',
        type: 'Warning',
        reason: 'RouteWithheld',
        message:
          '198.51.100.0/24 not routed by n1: it covers a protected address (API server, relay or this node)',
      },
    ]);
  });

  it('stop() leaves the interface alone', async () => {
    const { agent, dataplane } = setup();
    await agent.start();
    await agent.stop();
    expect(dataplane.calls).toEqual(['create wire_kube mtu 1420']);
    expect(dataplane.device).toBeDefined();
    expect(agent.live()).toBe(false);
  });
});
