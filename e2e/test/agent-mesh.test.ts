// Issue 6: real agents against the real API server in the lab. Four hosts (public, cone, cone, and one in the
// same LAN behind the same NAT as a cone host) must all ping each other over their allowedIPs; a fifth host behind a
// symmetric NAT reports `symmetric` and reaches the public host; a passive peer stays passive; a bad peer object
// is skipped with an Event while the mesh keeps working.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

function publicKey(): string {
  return generateKeyPairSync('x25519')
    .publicKey.export({ format: 'der', type: 'spki' })
    .subarray(-32)
    .toString('base64');
}

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
const MESHED = ['pub', 'cone1', 'cone1b', 'cone2'];

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'pub', nat: 'none' },
      { name: 'cone1', nat: 'cone', lan: 'lan1' },
      { name: 'cone1b', nat: 'cone', lan: 'lan1' },
      { name: 'cone2', nat: 'cone', lan: 'lan2' },
      { name: 'sym', nat: 'symmetric' },
    ],
    stun: true,
    controlPlane: true,
  });
  stateDir = mkdtempSync(join(tmpdir(), 'wk-agent-e2e-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh();
  await mesh.registerNodes();
  // A passive peer (no allowedIPs) and a bad one (not a key), created by hand as a user would.
  const passiveKey = publicKey();
  await lab.controlPlane!.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'wirekube.io/v1alpha1',
      kind: 'WireKubePeer',
      metadata: { name: 'node-passive' },
      spec: { publicKey: passiveKey, endpoint: '203.0.113.77:51820', allowedIPs: [] },
    }),
  });
  await lab.controlPlane!.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'wirekube.io/v1alpha1',
      kind: 'WireKubePeer',
      metadata: { name: 'node-broken' },
      spec: { publicKey: 'base64-encoded-wireguard-public-key', allowedIPs: ['10.250.0.1/32'] },
    }),
  });
  for (const host of lab.hosts) mesh.startAgent(host);
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a)));
}, 180_000);

afterAll(async () => {
  await mesh?.stopAll();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('agents in the lab', () => {
  it('publish their WireKubePeer with NAT type and discovery method', async () => {
    await waitFor(
      async () => {
        const peers = await mesh.peers();
        return lab.hosts.every(
          (h) => peers.find((p) => p.metadata.name === `node-${h.name}`)?.status?.natType !== undefined,
        );
      },
      60_000,
      'every agent to publish its status',
    );
    const peers = await mesh.peers();
    const byName = (n: string) => peers.find((p) => p.metadata.name === `node-${n}`)!;
    for (const name of MESHED) {
      expect(byName(name).status?.natType, name).toBe('cone');
      expect(byName(name).status?.endpointDiscoveryMethod, name).toBe('stun');
      expect(byName(name).metadata.labels?.['wirekube.io/node']).toBe(name);
      expect(byName(name).spec.allowedIPs).toEqual([`${lab.host(name).address}/32`]);
    }
    expect(byName('sym').status?.natType).toBe('symmetric');
    // Symmetric NAT: the STUN-discovered public IP with the configured listen port (seed).
    expect(byName('sym').spec.endpoint).toBe(`${lab.host('sym').publicAddress}:51820`);
    // cone2 is alone behind its NAT, which preserves the port; cone1 and cone1b share one NAT, so at most one of
    // them keeps 51820 and the other's mapping (what STUN saw) has another port.
    expect(byName('cone2').spec.endpoint).toBe(`${lab.host('cone2').publicAddress}:51820`);
    const lan1Ports = ['cone1', 'cone1b'].map((n) => byName(n).spec.endpoint!);
    for (const endpoint of lan1Ports)
      expect(endpoint).toMatch(new RegExp(`^${lab.host('cone1').publicAddress}:\\d+$`));
    expect(new Set(lan1Ports).size).toBe(2);
    expect(byName('pub').spec.endpoint).toBe(`${lab.host('pub').address}:51820`);
  });

  it('every pair of the four cone/public hosts pings over its allowedIPs, the same-LAN pair included', async () => {
    const pairs = MESHED.flatMap((a) => MESHED.filter((b) => b !== a).map((b) => [a, b] as const));
    await waitFor(
      async () => {
        const results = await Promise.all(
          pairs.map(([a, b]) => mesh.ping(lab.host(a), lab.host(b).address, { count: 1, waitS: 1 })),
        );
        return results.every((r) => r.loss === 0);
      },
      60_000,
      'every pair to answer one ping',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    for (const [a, b] of pairs) {
      const { loss, output } = await mesh.ping(lab.host(a), lab.host(b).address, { count: 3 });
      expect(loss, `${a} → ${b}\n${output}`).toBe(0);
    }
  });

  it('the traffic really goes through the tunnel, with the own mesh address as source', async () => {
    const cone1 = lab.host('cone1');
    const { stdout } = await cone1.exec(['ip', 'route', 'get', lab.host('pub').address]);
    expect(stdout).toContain('dev wire_kube');
    expect(stdout).toContain(`src ${cone1.address}`);
    expect(stdout).toContain('table 22347');
    const rules = (await cone1.exec(['ip', 'rule', 'show'])).stdout;
    expect(rules).toMatch(/^199:\s+from all fwmark 0x574b lookup main/m);
    expect(rules).toMatch(/^200:\s+from all lookup 22347/m);
  });

  it('the host behind a symmetric NAT reaches the public host', async () => {
    await waitFor(
      async () => (await mesh.ping(lab.host('sym'), lab.host('pub').address, { count: 1 })).loss === 0,
      60_000,
      'sym → pub',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    expect((await mesh.ping(lab.host('pub'), lab.host('sym').address, { count: 3 })).loss).toBe(0);
  });

  it('a peer with empty allowedIPs stays passive: no WireGuard peer, no route', async () => {
    const passive = await mesh.peer('node-passive');
    for (const name of MESHED) {
      const host = lab.host(name);
      const peers = (await host.exec(['wg', 'show', 'wire_kube', 'peers'])).stdout;
      expect(peers, name).not.toContain(passive!.spec.publicKey);
      expect(peers.trim().split('\n').length, name).toBe(4); // the other three meshed hosts and sym
      expect((await host.exec(['ip', 'route', 'show', 'table', '22347'])).stdout).not.toContain(
        '203.0.113.77',
      );
    }
  });

  it('a bad peer object is skipped with a Warning Event and the rest keeps working', async () => {
    const { stdout } = await lab.controlPlane!.kubectl([
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=node-broken,reason=PeerSkipped',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    expect(stdout).toContain('publicKey is not a base64 WireGuard key');
    expect((await mesh.ping(lab.host('cone2'), lab.host('pub').address, { count: 2 })).loss).toBe(0);
  });

  it('kubectl shows the peers with their NAT and Mode columns', async () => {
    const { stdout } = await lab.controlPlane!.kubectl(['get', 'wirekubepeers']);
    expect(stdout.split('\n')[0]).toMatch(/NAME\s+ENDPOINT\s+NAT\s+MODE\s+CONNECTED\s+AGE/);
    expect(stdout).toMatch(/node-cone1\s+\S+:\d+\s+cone\s+direct\s+true/);
    expect(stdout).toMatch(/node-sym\s+\S+:51820\s+symmetric\s+direct\s+true/);
  });

  it("the seed's cleanup job, with the node name substituted, is accepted by the API server", async () => {
    const cp = lab.controlPlane!;
    const template = readFileSync(
      fileURLToPath(new URL('../../config/cleanup/cleanup-job.yaml', import.meta.url)),
      'utf8',
    );
    await cp.kubectl(['create', 'namespace', 'wirekube-system'], { allowFail: true });
    const { stdout } = await cp.kubectl(['apply', '--dry-run=server', '-o', 'name', '-f', '-'], {
      input: template.replaceAll('TARGET_NODE_NAME', 'cone1'),
    });
    expect(stdout.trim()).toBe('job.batch/wirekube-cleanup-cone1');
  });

  it('serves metrics inside the node', async () => {
    const { stdout } = await lab
      .host('cone1')
      .exec([
        'node',
        '-e',
        "fetch('http://127.0.0.1:9543/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))",
      ]);
    expect(stdout).toContain('wirekube_peer_connected{peer="node-pub"} 1');
    expect(stdout).toContain('wirekube_nat_type{type="cone"} 1');
    // A pass that succeeded and scheduled its next WireGuard read-back counts as requeue_after (ReconcileLoop).
    expect(stdout).toMatch(/wirekube_reconcile_total\{result="requeue_after"\} [1-9]/);
  });
});
