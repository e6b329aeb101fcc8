// Issue 10, provider managed: the agents find the relay through its Service in the real API server. While the
// LoadBalancer has no ingress yet, the agents refuse the ClusterIP (seed) and connect nowhere; once the test fills
// in status.loadBalancer.ingress as a cloud controller would, a symmetric↔cone pair relays through it and pings.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabProcess } from '../src/exec/process.js';
import { createLab, type Lab } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';
import { relayCommand } from '../src/relay-program.js';

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
let relay: LabProcess;

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'relay', nat: 'none' },
      { name: 'cone1', nat: 'cone', lan: 'lan1' },
      { name: 'sym1', nat: 'symmetric' },
    ],
    stun: true,
    controlPlane: true,
  });
  await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
  relay = lab.host('relay').spawn(relayCommand(['--port', '3478', '--http-port', '9090']));
  const cp = lab.controlPlane!;
  await cp.kubectl(['create', 'namespace', 'wirekube-system']);
  await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'wirekube-relay', namespace: 'wirekube-system' },
      spec: {
        type: 'LoadBalancer',
        // No node ports: the seed's NodePort fallback comes before "nothing" and would hide the ClusterIP refusal.
        allocateLoadBalancerNodePorts: false,
        selector: { app: 'wirekube-relay' },
        ports: [{ name: 'relay', port: 3478 }],
      },
    }),
  });
  stateDir = mkdtempSync(join(tmpdir(), 'wk-path-managed-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh({ relay: { mode: 'auto', provider: 'managed', handshakeTimeoutSeconds: 5 } });
  const nodes = [lab.host('cone1'), lab.host('sym1')];
  await mesh.registerNodes(nodes);
  for (const h of nodes) mesh.startAgent(h, { args: ['--namespace', 'wirekube-system'] });
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a, 60_000)));
}, 180_000);

afterAll(async () => {
  await mesh?.stopAll();
  await relay?.stop();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('managed relay found through its Service', () => {
  it('a pending LoadBalancer (ClusterIP only) is refused, naming the field', async () => {
    await waitFor(
      () =>
        [...mesh.agents.values()].every((a) =>
          a.process.output().includes('"field":"status.loadBalancer.ingress"'),
        ),
      20_000,
      'both agents to refuse the ClusterIP',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    expect([...mesh.agents.values()].some((a) => a.process.output().includes('"event":"relay-opened"'))).toBe(
      false,
    );
    // The connection is opened in the relay-link process: the agent's own word for asking it is relay-target-set.
    expect(
      [...mesh.agents.values()].some((a) =>
        a.process.output().includes('"event":"relay-target-set","host":"'),
      ),
    ).toBe(false);
  });

  it('once the ingress is filled in, the symmetric↔cone pair relays through it and pings both ways', async () => {
    await lab.controlPlane!.kubectl([
      '-n',
      'wirekube-system',
      'patch',
      'service',
      'wirekube-relay',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: lab.host('relay').address }] } } }),
    ]);
    const [cone1, sym1] = [lab.host('cone1'), lab.host('sym1')];
    await waitFor(
      async () =>
        (await mesh.ping(cone1, sym1.address, { count: 1 })).loss === 0 &&
        (await mesh.ping(sym1, cone1.address, { count: 1 })).loss === 0,
      60_000,
      'cone1 ↔ sym1 through the relay',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    for (const a of mesh.agents.values()) expect(a.process.output()).toContain('"source":"load-balancer-ip"');
    await waitFor(
      async () => (await mesh.peer('node-cone1'))?.status?.peerTransports?.['node-sym1'] === 'relay',
      20_000,
      'cone1 to report sym1 as relayed',
    );
  }, 90_000);
});
