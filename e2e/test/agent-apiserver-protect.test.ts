// Issue 11.5 in the lab: the API server stays reachable when a peer that cannot handshake owns its address.
// The agent runs as it does in a cluster: its kubeconfig names the `kubernetes` Service's ClusterIP
// (10.96.0.1:443, DNAT'd to the real API server the way kube-proxy does it), so protecting the kubeconfig host
// protects nothing. The real address comes from the `kubernetes` EndpointSlice in `default` (which the lab's
// API server, run with --endpoint-reconciler-type=none, does not write itself: the test writes it as a
// cluster's would be). A WireKubePeer whose allowedIPs is the API server's /32, with an endpoint where nobody
// answers, must not take the API server away.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CONTROL_PLANE_ADDRESS, createLab, type Lab, type LabHost } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

const CLUSTER_IP = '10.96.0.1';

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
let worker: LabHost;
let clusterKubeconfig: string;

function publicKey(): string {
  return generateKeyPairSync('x25519')
    .publicKey.export({ format: 'der', type: 'spki' })
    .subarray(-32)
    .toString('base64');
}

/** The admin kubeconfig, pointed at the ClusterIP the way an in-cluster client sees the API server. */
function writeClusterIpKubeconfig(source: string, target: string): string {
  const config = parse(readFileSync(source, 'utf8')) as {
    clusters: Array<{ cluster: Record<string, string> }>;
  };
  for (const { cluster } of config.clusters) {
    cluster['server'] = `https://${CLUSTER_IP}:443`;
    // The serving certificate names the Service's DNS name, as a real one does; the ClusterIP is not in it.
    cluster['tls-server-name'] = 'kubernetes.default.svc';
  }
  writeFileSync(target, stringify(config), { mode: 0o600 });
  return target;
}

async function apiServerAnswers(): Promise<boolean> {
  const result = await worker.exec(
    ['kubectl', `--kubeconfig=${clusterKubeconfig}`, '--request-timeout=3s', 'get', '--raw', '/readyz'],
    { allowFail: true, timeoutMs: 10_000 },
  );
  return result.code === 0 && result.stdout.trim() === 'ok';
}

beforeAll(async () => {
  lab = await createLab({ hosts: [{ name: 'worker', nat: 'none' }], stun: true, controlPlane: true });
  worker = lab.host('worker');
  stateDir = mkdtempSync(join(tmpdir(), 'wk-apiserver-e2e-'));
  clusterKubeconfig = writeClusterIpKubeconfig(
    lab.controlPlane!.hostKubeconfigPath,
    join(stateDir, 'cluster-ip.kubeconfig'),
  );
  // kube-proxy's part: a route for the service range and a DNAT of the ClusterIP to the real endpoint.
  await worker.exec(['ip', 'route', 'add', '10.96.0.0/16', 'dev', 'eth0']);
  await worker.exec(['nft', '-f', '-'], {
    input: `table ip wk-kube-proxy {
  chain output {
    type nat hook output priority -100;
    ip daddr ${CLUSTER_IP} tcp dport 443 dnat to ${CONTROL_PLANE_ADDRESS}:6443
  }
}
`,
  });
  expect(await apiServerAnswers()).toBe(true);
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh();
  await mesh.registerNodes();
  await lab.controlPlane!.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'kubernetes' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [CONTROL_PLANE_ADDRESS], conditions: { ready: true } }],
      ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    }),
  });
  mesh.startAgent(worker, {
    args: ['--kubeconfig', clusterKubeconfig, '--endpoint-recheck-interval-ms', '2000'],
  });
  await mesh.waitStarted(mesh.agents.get('worker')!);
}, 180_000);

afterAll(async () => {
  await mesh?.stopAll();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('the API server is protected in-cluster (issue 11.5)', () => {
  it('a peer owning the API server address that never handshakes does not cut the agent off', async () => {
    // A control-plane node whose agent is down: its allowedIPs (its InternalIP/32) is the API server address.
    await lab.controlPlane!.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'wirekube.io/v1alpha1',
        kind: 'WireKubePeer',
        metadata: { name: 'node-control-plane', labels: { 'wirekube.io/node': 'control-plane' } },
        spec: {
          publicKey: publicKey(),
          endpoint: '203.0.113.99:51820',
          allowedIPs: [`${CONTROL_PLANE_ADDRESS}/32`],
        },
      }),
    });
    await waitFor(
      async () => (await worker.exec(['wg', 'show', 'wire_kube', 'peers'])).stdout.trim().length > 0,
      20_000,
      'the worker to configure the control-plane peer',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    // Give a route into the tunnel time to be installed, as the first reconcile after the peer would.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await apiServerAnswers()).toBe(true);
    const rules = (await worker.exec(['ip', 'rule', 'show'])).stdout;
    expect(rules).toMatch(new RegExp(`^198:\\s+from all to ${CONTROL_PLANE_ADDRESS} lookup main`, 'm'));
    const route = (await worker.exec(['ip', 'route', 'get', CONTROL_PLANE_ADDRESS])).stdout;
    expect(route).not.toContain('wire_kube');
    expect(await apiServerAnswers()).toBe(true);
    // The agent itself still talks to the API server: a change to its own Node reaches it and is published.
    await lab.controlPlane!.kubectl([
      'annotate',
      'node',
      'worker',
      '--overwrite',
      'wirekube.io/endpoint=203.0.113.10:51999',
    ]);
    await waitFor(
      async () => (await mesh.peer('node-worker'))?.spec.endpoint === '203.0.113.10:51999',
      20_000,
      'the agent to publish the annotated endpoint',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    expect(await apiServerAnswers()).toBe(true);
  }, 60_000);
});
