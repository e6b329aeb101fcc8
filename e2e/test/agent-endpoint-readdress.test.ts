// Issue 11.1 in the lab: a NAT router's WAN address changes (a DHCP lease or an ISP renumbering) while the
// agents run. The interface holds the WireGuard port, so the re-check can only ask STUN from an ephemeral port;
// its answer's new public IP must reach the WireKubePeer within the re-check interval, and the peers must talk
// again. A cone host and a symmetric host, each behind its own router, against a public host.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, readdressRouterWan } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

const RECHECK_MS = 3_000;

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'pub', nat: 'none' },
      { name: 'cone', nat: 'cone', lan: 'home' },
      { name: 'sym', nat: 'symmetric', lan: 'mobile' },
    ],
    stun: true,
    controlPlane: true,
  });
  stateDir = mkdtempSync(join(tmpdir(), 'wk-readdress-e2e-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh();
  await mesh.registerNodes();
  for (const host of lab.hosts)
    mesh.startAgent(host, { args: ['--endpoint-recheck-interval-ms', String(RECHECK_MS)] });
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a)));
}, 180_000);

afterAll(async () => {
  await mesh?.stopAll();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function endpointOf(name: string): Promise<string | undefined> {
  return (await mesh.peer(`node-${name}`))?.spec.endpoint;
}

async function pingsBothWays(a: string, b: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      const [there, back] = await Promise.all([
        mesh.ping(lab.host(a), lab.host(b).address, { count: 1, waitS: 1 }),
        mesh.ping(lab.host(b), lab.host(a).address, { count: 1, waitS: 1 }),
      ]);
      return there.loss === 0 && back.loss === 0;
    },
    timeoutMs,
    `${a} ⇄ ${b} to ping over the mesh`,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
  });
  return Date.now() - started;
}

describe('a changed public IP is published (issue 11.1)', () => {
  it('the mesh is up before the change', async () => {
    await waitFor(
      async () =>
        (await endpointOf('cone')) === `${lab.host('cone').publicAddress}:51820` &&
        (await endpointOf('sym')) === `${lab.host('sym').publicAddress}:51820`,
      30_000,
      'both NAT’d hosts to publish their STUN endpoint',
    );
    await pingsBothWays('pub', 'cone', 60_000);
    await pingsBothWays('pub', 'sym', 60_000);
  });

  it.each([
    ['cone', 'home', '203.0.113.150'],
    ['sym', 'mobile', '203.0.113.151'],
  ])(
    '%s: the CR endpoint follows its router’s new WAN address within the re-check interval, and it reconnects',
    async (name, lan, address) => {
      const before = await endpointOf(name);
      const { from } = await readdressRouterWan(lab.router(lan), address);
      expect(from).toEqual([lab.host(name).publicAddress]);
      const changedAt = Date.now();
      await waitFor(
        async () => (await endpointOf(name)) === `${address}:51820`,
        // One interval until the re-check, plus the STUN round and the write: well under two intervals.
        2 * RECHECK_MS,
        `node-${name} to publish ${address}:51820 (was ${before})`,
      ).catch((error) => {
        throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
      });
      const publishedMs = Date.now() - changedAt;
      const reconnectMs = await pingsBothWays('pub', name, 60_000);
      console.log(JSON.stringify({ test: 'readdress', host: name, publishedMs, reconnectMs }));
      const peer = await mesh.peer(`node-${name}`);
      expect(peer?.status?.endpointDiscoveryMethod).toBe('stun');
      expect(peer?.status?.natType).toBe(name === 'sym' ? 'symmetric' : 'cone');
    },
    90_000,
  );
});
