/**
 * A lab running WireKube for a benchmark: the API server, STUN, the project's relay program on a public host
 * "relay", a WireKubeMesh, and a real agent on every other host. Torn down by `close()`, also on failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WireKubePeer } from '@wirekube/crd-types';
import { createLab, type HostSpec, type Lab, type LabHost, type LabProcess } from '../../src/index.js';
import { MeshFixture, waitFor } from '../../src/mesh/fixture.js';
import { relayCommand } from '../../src/relay-program.js';

export type RelayMode = 'auto' | 'always' | 'never';

export interface MeshLabOptions {
  hosts: HostSpec[];
  mode: RelayMode;
  /** Relay spec fields beyond mode/provider/endpoint (timers). */
  relay?: Record<string, unknown>;
  /** Start agents at once (default) or leave it to the caller. */
  startAgents?: boolean;
}

export interface MeshLab {
  lab: Lab;
  mesh: MeshFixture;
  relay: LabProcess;
  nodes: LabHost[];
  relaySpec(mode: RelayMode): Record<string, unknown>;
  setMode(mode: RelayMode): Promise<void>;
  startRelay(): LabProcess;
  close(): Promise<void>;
}

export async function createMeshLab(options: MeshLabOptions): Promise<MeshLab> {
  const lab = await createLab({
    hosts: [{ name: 'relay', nat: 'none' }, ...options.hosts],
    stun: true,
    controlPlane: true,
  });
  const stateDir = mkdtempSync(join(tmpdir(), 'wk-bench-'));
  const relayHost = lab.host('relay');
  const nodes = options.hosts.map((h) => lab.host(h.name));
  let mesh: MeshFixture | undefined;
  const self: MeshLab = {
    lab,
    mesh: undefined as unknown as MeshFixture,
    relay: undefined as unknown as LabProcess,
    nodes,
    relaySpec: (mode) => ({
      mode,
      provider: 'external',
      external: { endpoint: `${relayHost.address}:3478` },
      ...options.relay,
    }),
    async setMode(mode) {
      await mesh!.createMesh({ relay: self.relaySpec(mode) });
    },
    startRelay() {
      self.relay = relayHost.spawn(relayCommand(['--port', '3478', '--http-port', '9090']));
      return self.relay;
    },
    async close() {
      await mesh?.stopAll().catch(() => undefined);
      await self.relay?.stop().catch(() => undefined);
      await lab.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  try {
    // The relay proxy and the agents' probes use loopback.
    await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
    self.startRelay();
    mesh = new MeshFixture(lab, stateDir);
    self.mesh = mesh;
    await mesh.createMesh({ relay: self.relaySpec(options.mode) });
    await mesh.registerNodes(nodes);
    if (options.startAgents !== false) {
      for (const h of nodes) mesh.startAgent(h);
      await Promise.all([...mesh.agents.values()].map((a) => mesh!.waitStarted(a, 120_000)));
    }
    return self;
  } catch (error) {
    await self.close();
    throw error;
  }
}

/** Is `from`'s WireGuard endpoint for `to` the local relay proxy? */
export async function relayedTowards(meshLab: MeshLab, from: LabHost, to: LabHost): Promise<boolean> {
  const peers: WireKubePeer[] = await meshLab.mesh.peers();
  const key = peers.find((p) => p.metadata.name === `node-${to.name}`)?.spec.publicKey;
  const { stdout } = await from.exec(['wg', 'show', 'wire_kube', 'endpoints']);
  const line = stdout.split('\n').find((l) => key && l.startsWith(key));
  return Boolean(line?.includes('127.0.0.1:'));
}

/** Waits until both directions of a pair use the wanted path and a ping goes through. */
export async function pairIs(
  meshLab: MeshLab,
  a: LabHost,
  b: LabHost,
  path: 'direct' | 'relay',
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () =>
      (await relayedTowards(meshLab, a, b)) === (path === 'relay') &&
      (await relayedTowards(meshLab, b, a)) === (path === 'relay') &&
      (await meshLab.mesh.ping(a, b.address, { count: 1 })).loss === 0,
    timeoutMs,
    `${a.name}↔${b.name} ${path}`,
  );
}
