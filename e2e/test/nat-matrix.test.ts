// Issue 10, lab NAT matrix: real API server, the project's relay program and real agents on hosts {public ×2,
// cone ×2, symmetric ×2, two in one LAN behind one cone NAT}. Every pair pings both ways; pairs that physics
// allows are direct (public↔anything, cone↔cone, same LAN), the rest go through the relay; each WireKubePeer's
// peerTransports/transportMode say so, and `wg show` read independently agrees (relayed peers point at 127.0.0.1).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WireKubePeer } from '@wirekube/crd-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabProcess } from '../src/exec/process.js';
import { createLab, type Lab, type LabHost } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';
import { relayCommand } from '../src/relay-program.js';

const NODES = ['pub1', 'pub2', 'cone1', 'cone2', 'sym1', 'sym2', 'lana', 'lanb'] as const;
type NodeName = (typeof NODES)[number];
const CLASS: Record<NodeName, 'public' | 'cone' | 'symmetric'> = {
  pub1: 'public',
  pub2: 'public',
  cone1: 'cone',
  cone2: 'cone',
  sym1: 'symmetric',
  sym2: 'symmetric',
  lana: 'cone',
  lanb: 'cone',
};

/** What physics allows between two lab hosts (LAB-FACTS: Linux NATs filter by address and port). */
function expectedTransport(a: NodeName, b: NodeName): 'direct' | 'relay' {
  const sameLan = (a === 'lana' && b === 'lanb') || (a === 'lanb' && b === 'lana');
  if (sameLan || CLASS[a] === 'public' || CLASS[b] === 'public') return 'direct';
  return CLASS[a] === 'symmetric' || CLASS[b] === 'symmetric' ? 'relay' : 'direct';
}

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
let relay: LabProcess;
const pairs = NODES.flatMap((a) => NODES.filter((b) => b !== a).map((b) => [a, b] as const));

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'relay', nat: 'none' },
      { name: 'pub1', nat: 'none' },
      { name: 'pub2', nat: 'none' },
      { name: 'cone1', nat: 'cone', lan: 'lan1' },
      { name: 'cone2', nat: 'cone', lan: 'lan2' },
      { name: 'sym1', nat: 'symmetric' },
      { name: 'sym2', nat: 'symmetric' },
      { name: 'lana', nat: 'cone', lan: 'lan3' },
      { name: 'lanb', nat: 'cone', lan: 'lan3' },
    ],
    stun: true,
    controlPlane: true,
  });
  // The relay proxy lives on 127.0.0.1: every real node has loopback up, lab hosts need it set.
  await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
  relay = lab.host('relay').spawn(relayCommand(['--port', '3478', '--http-port', '9090']));
  stateDir = mkdtempSync(join(tmpdir(), 'wk-nat-matrix-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh({
    relay: {
      mode: 'auto',
      provider: 'external',
      external: { endpoint: `${lab.host('relay').address}:3478` },
      handshakeTimeoutSeconds: 10,
      directRetryIntervalSeconds: 30,
    },
  });
  const nodes = NODES.map((n) => lab.host(n));
  await mesh.registerNodes(nodes);
  for (const host of nodes) mesh.startAgent(host);
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a, 60_000)));
}, 240_000);

afterAll(async () => {
  await mesh?.stopAll();
  await relay?.stop();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function host(name: NodeName): LabHost {
  return lab.host(name);
}

async function everyPairPings(timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const results = await Promise.all(
        pairs.map(([a, b]) => mesh.ping(host(a), host(b).address, { count: 1, waitS: 1 })),
      );
      return results.every((r) => r.loss === 0);
    },
    timeoutMs,
    'every pair to answer one ping',
  ).catch(async (error) => {
    const results = await Promise.all(
      pairs.map(
        async ([a, b]) => `${a}→${b}: ${(await mesh.ping(host(a), host(b).address, { count: 1 })).loss}%`,
      ),
    );
    throw new Error(`${(error as Error).message}\n${results.join('\n')}\n${mesh.logs()}`);
  });
}

/** `wg show wire_kube endpoints` on a host, by peer public key. */
async function wgEndpoints(name: NodeName): Promise<Map<string, string>> {
  const { stdout } = await host(name).exec(['wg', 'show', 'wire_kube', 'endpoints']);
  return new Map(
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t') as [string, string]),
  );
}

function transportsMatch(peers: readonly WireKubePeer[]): string[] {
  const byName = new Map(peers.map((p) => [p.metadata.name, p]));
  const wrong: string[] = [];
  for (const a of NODES) {
    const got = byName.get(`node-${a}`)?.status?.peerTransports ?? {};
    for (const b of NODES) {
      if (b === a) continue;
      const want = expectedTransport(a, b);
      if (got[`node-${b}`] !== want) wrong.push(`${a}→${b}: ${got[`node-${b}`] ?? 'missing'} (want ${want})`);
    }
  }
  return wrong;
}

describe('NAT matrix', () => {
  it('every pair pings both ways', async () => {
    await everyPairPings(120_000);
    for (const [a, b] of pairs) {
      const { loss, output } = await mesh.ping(host(a), host(b).address, { count: 3 });
      expect(loss, `${a} → ${b}\n${output}`).toBe(0);
    }
  }, 240_000);

  it('direct where physics allows, relayed otherwise: every CR says so', async () => {
    let wrong: string[] = [];
    await waitFor(
      async () => {
        wrong = transportsMatch(await mesh.peers());
        return wrong.length === 0;
      },
      60_000,
      'peerTransports to match the matrix',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${wrong.join('\n')}\n${mesh.logs()}`);
    });
    const peers = await mesh.peers();
    for (const a of NODES) {
      const p = peers.find((x) => x.metadata.name === `node-${a}`)!;
      const values = NODES.filter((b) => b !== a).map((b) => expectedTransport(a, b));
      const mode = values.every((v) => v === 'direct')
        ? 'direct'
        : values.every((v) => v === 'relay')
          ? 'relay'
          : 'mixed';
      expect(p.status?.transportMode, a).toBe(mode);
    }
  }, 120_000);

  it('wg show agrees: relayed peers point at the local proxy on 127.0.0.1, direct ones elsewhere', async () => {
    const peers = await mesh.peers();
    const keyOf = new Map(peers.map((p) => [p.metadata.name, p.spec.publicKey]));
    const wrong: string[] = [];
    for (const a of NODES) {
      const endpoints = await wgEndpoints(a);
      for (const b of NODES) {
        if (b === a) continue;
        const endpoint = endpoints.get(keyOf.get(`node-${b}`) ?? '') ?? '(none)';
        const relayed = endpoint.startsWith('127.0.0.1:');
        if (relayed !== (expectedTransport(a, b) === 'relay')) wrong.push(`${a}→${b}: ${endpoint}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the relay carries only the pairs that need it (no N² probing on an idle mesh)', async () => {
    const before = await probesSent();
    await new Promise((r) => setTimeout(r, 10_000));
    const after = await probesSent();
    // Idle mesh: keepalives only. A few probes may follow a rekey; nothing like one per pair per sample.
    expect(after - before, JSON.stringify({ before, after })).toBeLessThan(NODES.length * 2);
  }, 60_000);
});

/** Probes sent by all agents so far, from their /metrics. */
async function probesSent(): Promise<number> {
  let total = 0;
  // In parallel: one `node -e` per host takes seconds on a loaded machine, eight in a row overran the timeout.
  const scraped = await Promise.all(NODES.map((name) => scrape(host(name))));
  for (const metrics of scraped) {
    for (const line of metrics.split('\n')) {
      const m = /^wirekube_probes_total\{[^}]*\} (\d+)/.exec(line);
      if (m) total += Number(m[1]);
    }
  }
  return total;
}

async function scrape(h: LabHost): Promise<string> {
  const script = "fetch('http://127.0.0.1:9543/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))";
  const { stdout } = await h.exec(['node', '-e', script], { allowFail: true, timeoutMs: 10_000 });
  return stdout;
}
