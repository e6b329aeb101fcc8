// Issue 11.4 in the lab: the seed's removal step deletes the WireKubePeer while the agent may still run. While the
// Node is in the mesh (wirekube.io/vpn-enabled=true) the agent puts it back at once, with its STUN endpoint —
// not InternalIP:51820, which nobody can reach behind a NAT; once the label is off, it stays deleted.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;

beforeAll(async () => {
  lab = await createLab({
    hosts: [{ name: 'cone', nat: 'cone', lan: 'home' }],
    stun: true,
    controlPlane: true,
  });
  stateDir = mkdtempSync(join(tmpdir(), 'wk-own-peer-e2e-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh();
  const host = lab.host('cone');
  await lab.controlPlane!.createNode('cone', {
    internalIP: host.address,
    labels: { 'wirekube.io/vpn-enabled': 'true' },
  });
  mesh.startAgent(host, { args: ['--endpoint-recheck-interval-ms', '2000'] });
  await mesh.waitStarted(mesh.agents.get('cone')!);
}, 180_000);

afterAll(async () => {
  await mesh?.stopAll();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('a deleted own WireKubePeer (issue 11.4)', () => {
  const published = () => `${lab.host('cone').publicAddress}:51820`;

  it('comes back at once with the discovered endpoint while the Node is in the mesh', async () => {
    await waitFor(
      async () => (await mesh.peer('node-cone'))?.spec.endpoint === published(),
      20_000,
      'the CR',
    );
    await lab.controlPlane!.kubectl(['delete', 'wirekubepeer', 'node-cone', '--wait=false']);
    const deletedAt = Date.now();
    await waitFor(
      async () => (await mesh.peer('node-cone')) !== undefined,
      5_000,
      'the CR to come back',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    const backMs = Date.now() - deletedAt;
    const back = await mesh.peer('node-cone');
    expect(back?.spec.endpoint).toBe(published());
    expect(back?.spec.allowedIPs).toEqual([`${lab.host('cone').address}/32`]);
    console.log(JSON.stringify({ test: 'own-peer-recreated', backMs }));
    // Less than the 2 s re-check interval: the watch brought it back, not the timer.
    expect(backMs).toBeLessThan(2_000);
  });

  it('stays deleted once the Node is labelled out of the mesh', async () => {
    await lab.controlPlane!.kubectl([
      'label',
      'node',
      'cone',
      '--overwrite',
      'wirekube.io/vpn-enabled=false',
    ]);
    await lab.controlPlane!.kubectl(['delete', 'wirekubepeer', 'node-cone']);
    await new Promise((r) => setTimeout(r, 5_000)); // two re-check intervals
    expect(await mesh.peer('node-cone')).toBeUndefined();
    expect(mesh.agents.get('cone')!.process.output()).toContain('"event":"own-peer-left-out"');
  }, 30_000);
});
