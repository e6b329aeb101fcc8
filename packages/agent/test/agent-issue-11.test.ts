import { afterEach, describe, expect, it } from 'vitest';
import { parseOptions } from '../src/cli/options.js';
import { Agent, type AgentConfig } from '../src/daemon/agent.js';
import { internalSource } from '../src/endpoint/sources/internal.js';
import { stunSource } from '../src/endpoint/sources/stun.js';
import { AgentMetrics } from '../src/metrics/metrics.js';
import type { StunQuery } from '../src/nat/probe.js';
import { FakeDataplane, FakeKube, publicOf, silentLog } from './fakes.js';
import { KEYS, peer } from './fixtures.js';

// Defects from issue 11 in the agent's own peer: each test is named after the defect it guards against.

const PRIVATE = 'private-key-1';

const coneStun: StunQuery = async (servers, { localPort }) =>
  servers.map((server) => ({ server, mapped: { address: '203.0.113.7', port: localPort || 40000 } }));

let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

function setup(config: Partial<AgentConfig> = {}) {
  const kube = new FakeKube();
  kube.meshes.set('default', {
    apiVersion: 'wirekube.io/v1alpha1',
    kind: 'WireKubeMesh',
    metadata: { name: 'default' },
    spec: { stunServers: ['198.51.100.2:3478', '198.51.100.3:3478'] },
  });
  kube.nodes.set('n1', {
    metadata: { name: 'n1', uid: 'node-uid-1', annotations: {} },
    status: { addresses: [{ type: 'InternalIP', address: '10.1.0.2' }] },
  });
  const dataplane = new FakeDataplane();
  const agent = new Agent(
    { nodeName: 'n1', reconcileIntervalMs: 60_000, debounceMs: 10, ...config },
    {
      kube,
      dataplane,
      stun: coneStun,
      endpointSources: [stunSource, internalSource],
      keys: { load: async () => ({ privateKey: PRIVATE, publicKey: publicOf(PRIVATE), created: false }) },
      log: silentLog,
      metrics: new AgentMetrics(),
    },
  );
  agents.push(agent);
  return { agent, kube, dataplane };
}

function deletePeer(kube: FakeKube, name: string): void {
  const existing = kube.peers.get(name)!;
  kube.peers.delete(name);
  for (const informer of kube.peerInformers) informer.emit('delete', existing);
}

describe('issue 11.6: status.peerTransports keeps deleted peers forever', () => {
  it('a deleted peer leaves peerTransports, and status fields that no longer apply are cleared', async () => {
    const { agent, kube, dataplane } = setup();
    kube.putPeer(peer('a', { publicKey: KEYS.a, allowedIPs: ['10.2.0.2/32'] }));
    kube.putPeer(peer('b', { publicKey: KEYS.b, allowedIPs: ['10.2.0.3/32'] }));
    await agent.start();
    // Issue 10: only peers with a handshake count as using a path; give both one, as WireGuard would report.
    dataplane.device!.peers = dataplane.device!.peers.map((p, i) => ({
      ...p,
      endpoint: `198.51.100.${7 + i}:51820`,
      lastHandshakeMs: Date.now(),
    }));
    await agent.reconcileNow();
    expect(kube.peers.get('node-n1')!.status?.peerTransports).toEqual({
      'node-a': 'direct',
      'node-b': 'direct',
    });
    expect(kube.peers.get('node-n1')!.status?.transportMode).toBe('direct');

    deletePeer(kube, 'node-b');
    await agent.reconcileNow();
    expect(kube.peers.get('node-n1')!.status?.peerTransports).toEqual({ 'node-a': 'direct' });
    expect(kube.statusWrites.at(-1)!.status).toEqual({ peerTransports: { 'node-b': null } });

    deletePeer(kube, 'node-a');
    await agent.reconcileNow();
    const status = kube.peers.get('node-n1')!.status!;
    expect(status.peerTransports).toEqual({});
    expect(status).not.toHaveProperty('transportMode'); // no peers: no aggregate mode
  });
});

describe('issue 11.9: a user persistentKeepalive in the CR is overwritten with 25', () => {
  it('keeps the value a user wrote into the own WireKubePeer, through start and re-checks', async () => {
    const { agent, kube } = setup({ persistentKeepalive: 25 });
    await kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE), persistentKeepalive: 10 }));
    await agent.start();
    expect(kube.peers.get('node-n1')!.spec.persistentKeepalive).toBe(10);
    await agent.reconcileNow();
    expect(kube.peers.get('node-n1')!.spec.persistentKeepalive).toBe(10);
  });

  it('a user value of 0 (keepalives off) is respected too', async () => {
    const { agent, kube } = setup();
    await kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE), persistentKeepalive: 0 }));
    await agent.start();
    expect(kube.peers.get('node-n1')!.spec.persistentKeepalive).toBe(0);
  });

  it('the configured value seeds a new own WireKubePeer and one without a value; 25 by default', async () => {
    const configured = setup({ persistentKeepalive: 15 });
    await configured.agent.start();
    expect(configured.kube.peers.get('node-n1')!.spec.persistentKeepalive).toBe(15);

    const missing = setup({ persistentKeepalive: 20 });
    await missing.kube.createPeer(peer('n1', { publicKey: publicOf(PRIVATE) }));
    await missing.agent.start();
    expect(missing.kube.peers.get('node-n1')!.spec.persistentKeepalive).toBe(20);

    const defaulted = setup();
    await defaulted.agent.start();
    expect(defaulted.kube.peers.get('node-n1')!.spec.persistentKeepalive).toBe(25);
  });

  it('--persistent-keepalive / WIREKUBE_PERSISTENT_KEEPALIVE set it, default 25, bad values are named', () => {
    expect(parseOptions(['--node-name', 'n'], {}).persistentKeepalive).toBe(25);
    expect(parseOptions(['--node-name', 'n', '--persistent-keepalive', '15'], {}).persistentKeepalive).toBe(
      15,
    );
    expect(
      parseOptions(['--node-name', 'n'], { WIREKUBE_PERSISTENT_KEEPALIVE: '0' }).persistentKeepalive,
    ).toBe(0);
    for (const bad of ['-1', '2.5', 'often', '70000'])
      expect(() => parseOptions(['--node-name', 'n', `--persistent-keepalive=${bad}`], {})).toThrow(
        `--persistent-keepalive must be 0..65535 seconds, got "${bad}"`,
      );
  });
});
