// Issue 10, path selection on a running mesh (real API server, the project's relay program, real agents):
// - a direct cone↔cone path is blackholed on one NAT router while pinging every 10 ms: the longest gap is ≤ 3 s
//   and the pair is relayed; the drop is lifted and the pair is direct again within directRetryInterval + 10 s;
// - the relay is killed and restarted: relayed pairs resume within the backoff (≤ 30 s), direct pairs lose nothing;
// - mode switches without an agent restart: always relays every pair, never drops the relay connections, auto
//   restores the matrix.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WireKubePeer } from '@wirekube/crd-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabProcess } from '../src/exec/process.js';
import { createLab, type Lab, type LabHost } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';
import { relayCommand } from '../src/relay-program.js';

const NODES = ['cone1', 'cone2', 'sym1'] as const;
type NodeName = (typeof NODES)[number];
const RETRY_S = 15;
const MATRIX: Record<string, 'direct' | 'relay'> = {
  'cone1>cone2': 'direct',
  'cone2>cone1': 'direct',
  'cone1>sym1': 'relay',
  'sym1>cone1': 'relay',
  'cone2>sym1': 'relay',
  'sym1>cone2': 'relay',
};

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
let relay: LabProcess;

function host(name: NodeName | 'relay'): LabHost {
  return lab.host(name);
}

function startRelay(): LabProcess {
  relay = host('relay').spawn(relayCommand(['--port', '3478', '--http-port', '9090']));
  return relay;
}

function relaySpec(mode: 'auto' | 'always' | 'never') {
  return {
    mode,
    provider: 'external',
    external: { endpoint: `${host('relay').address}:3478` },
    handshakeTimeoutSeconds: 10,
    directRetryIntervalSeconds: RETRY_S,
  };
}

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'relay', nat: 'none' },
      { name: 'cone1', nat: 'cone', lan: 'lan1' },
      { name: 'cone2', nat: 'cone', lan: 'lan2' },
      { name: 'sym1', nat: 'symmetric' },
    ],
    stun: true,
    controlPlane: true,
  });
  await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
  startRelay();
  stateDir = mkdtempSync(join(tmpdir(), 'wk-path-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh({ relay: relaySpec('auto') });
  const nodes = NODES.map((n) => host(n));
  await mesh.registerNodes(nodes);
  for (const h of nodes) mesh.startAgent(h);
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a, 60_000)));
  await matrixIs(MATRIX, 120_000);
}, 240_000);

afterAll(async () => {
  await mesh?.stopAll();
  await relay?.stop();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function transports(): Promise<Record<string, string>> {
  const peers: WireKubePeer[] = await mesh.peers();
  const out: Record<string, string> = {};
  for (const a of NODES) {
    const got = peers.find((p) => p.metadata.name === `node-${a}`)?.status?.peerTransports ?? {};
    for (const b of NODES) if (b !== a) out[`${a}>${b}`] = got[`node-${b}`] ?? 'missing';
  }
  return out;
}

/** WireGuard's own view: relayed (endpoint on 127.0.0.1) or not, per ordered pair. */
async function wgPaths(): Promise<Record<string, string>> {
  const peers = await mesh.peers();
  const keyOf = new Map(peers.map((p) => [p.metadata.name, p.spec.publicKey]));
  const out: Record<string, string> = {};
  for (const a of NODES) {
    const { stdout } = await host(a).exec(['wg', 'show', 'wire_kube', 'endpoints']);
    const endpoints = new Map(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t') as [string, string]),
    );
    for (const b of NODES) {
      if (b === a) continue;
      const endpoint = endpoints.get(keyOf.get(`node-${b}`) ?? '') ?? '';
      out[`${a}>${b}`] = endpoint.startsWith('127.0.0.1:') ? 'relay' : 'direct';
    }
  }
  return out;
}

async function matrixIs(want: Record<string, string>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: unknown;
  await waitFor(
    async () => {
      const [cr, wg] = [await transports(), await wgPaths()];
      last = { cr, wg };
      return Object.entries(want).every(([k, v]) => cr[k] === v && wg[k] === v);
    },
    timeoutMs,
    `transports ${JSON.stringify(want)}`,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\nlast: ${JSON.stringify(last)}\n${mesh.logs()}`);
  });
  return Date.now() - started;
}

/**
 * Runs `ping -D -i 0.01` and returns the longest gap between consecutive replies, and the longest gap after
 * it (what a later failed upgrade attempt cost), in ms.
 */
function pinger(from: LabHost, to: string, seconds: number) {
  const p = from.spawn(['ping', '-n', '-D', '-i', '0.01', '-W', '1', '-w', String(seconds), to]);
  return {
    process: p,
    async result(): Promise<{
      longestGapMs: number;
      laterGapMs: number;
      replies: number;
      /** When the longest gap began (epoch ms), to line it up with the agents' logs. */
      gapFromMs: number;
    }> {
      await p.exited;
      const times = [...p.output().matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map(
        (m) => Number(m[1]) * 1000,
      );
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      const longest = gaps.reduce((best, g, i) => (g > (gaps[best] ?? 0) ? i : best), 0);
      const later = Math.max(0, ...gaps.slice(longest + 1));
      return {
        longestGapMs: Math.round(gaps[longest] ?? 0),
        laterGapMs: Math.round(later),
        replies: times.length,
        gapFromMs: Math.round(times[longest] ?? 0),
      };
    },
  };
}

/** How far each agent's output has got: `pathChanges(mark)` reads only what came after. */
function logMark(): Map<string, number> {
  return new Map([...mesh.agents.values()].map((a) => [a.host.name, a.process.output().length]));
}

/** The `path-changed` log lines of the cone1↔cone2 pair from both agents since `mark`. */
function pathChanges(
  mark: ReadonlyMap<string, number>,
): Array<{ node: string; to: string; reason: string; atMs: number }> {
  const out: Array<{ node: string; to: string; reason: string; atMs: number }> = [];
  for (const agent of mesh.agents.values()) {
    if (agent.host.name !== 'cone1' && agent.host.name !== 'cone2') continue;
    const text = agent.process.output().slice(mark.get(agent.host.name) ?? 0);
    for (const line of text.split('\n')) {
      if (!line.includes('"event":"path-changed"')) continue;
      const entry = JSON.parse(line) as { peer: string; to: string; reason: string; time: number };
      if (entry.peer === 'node-cone1' || entry.peer === 'node-cone2')
        out.push({ node: agent.host.name, to: entry.to, reason: entry.reason, atMs: entry.time });
    }
  }
  return out;
}

async function relayConnections(): Promise<number> {
  const script = "fetch('http://127.0.0.1:9090/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))";
  const { stdout } = await host('relay').exec(['node', '-e', script], { allowFail: true, timeoutMs: 10_000 });
  const m = /^wirekube_relay_connections (\d+)/m.exec(stdout);
  return m ? Number(m[1]) : -1;
}

async function setMode(mode: 'auto' | 'always' | 'never'): Promise<void> {
  await lab.controlPlane!.kubectl([
    'patch',
    'wirekubemesh',
    'default',
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { relay: { mode } } }),
  ]);
}

describe('path selection on a running mesh', () => {
  // The drop is held for a whole retry interval plus margin, so one coordinated upgrade attempt always falls
  // inside it: that attempt must fail (its probe can only be answered through the relay, which the proxy's
  // counters reveal), cost the relayed pair at most about 1 s, and leave the pair relayed — the flap this test
  // once caught (an answer that came through the relay counted as proof of the direct path).
  it('a blackholed direct path moves to the relay within 3 s, and back to direct once the drop is lifted', async () => {
    const router = lab.router('lan2');
    const cone1Public = lab.router('lan1').wanAddress;
    const rules = [
      ['FORWARD', '-p', 'udp', '-s', cone1Public, '-j', 'DROP'],
      ['FORWARD', '-p', 'udp', '-d', cone1Public, '-j', 'DROP'],
    ];
    const pingS = 3 + RETRY_S + 3;
    const ping = pinger(host('cone1'), host('cone2').address, pingS);
    await new Promise((r) => setTimeout(r, 3_000));
    const mark = logMark();
    const droppedAt = Date.now();
    for (const rule of rules) await router.shell.exec(['iptables', '-I', ...rule]);
    let lifted = false;
    try {
      const { longestGapMs, laterGapMs, replies, gapFromMs } = await ping.result();
      const during = pathChanges(mark);
      const toDirect = during.filter((c) => c.to === 'direct');
      const record = {
        longestGapMs,
        laterGapMs,
        replies,
        pathChanges: during.length,
        dropAtMs: droppedAt,
        gapFromMs,
        relayedAtMs: during.find((c) => c.reason === 'liveness-lost')?.atMs,
      };
      process.stdout.write(`${JSON.stringify({ blackhole: record })}\n`);
      expect(longestGapMs, `${JSON.stringify(record)}\n${mesh.logs()}`).toBeLessThanOrEqual(3_000);
      expect(replies).toBeGreaterThan(pingS * 50);
      // No upgrade while the drop was on: the attempt inside it failed and the pair stayed relayed.
      expect(toDirect, JSON.stringify(during)).toEqual([]);
      await matrixIs({ 'cone1>cone2': 'relay', 'cone2>cone1': 'relay' }, 10_000);
      for (const rule of rules) await router.shell.exec(['iptables', '-D', ...rule]);
      lifted = true;
      const backMs = await matrixIs(
        { 'cone1>cone2': 'direct', 'cone2>cone1': 'direct' },
        (RETRY_S + 10) * 1000,
      );
      process.stdout.write(`${JSON.stringify({ directAgainAfterMs: backMs })}\n`);
    } finally {
      if (!lifted)
        for (const rule of rules) await router.shell.exec(['iptables', '-D', ...rule], { allowFail: true });
    }
  }, 150_000);

  it('relay killed and restarted: relayed pairs resume within 30 s, the direct pair loses nothing', async () => {
    await matrixIs(MATRIX, 60_000);
    const direct = pinger(host('cone1'), host('cone2').address, 12);
    await relay.stop(0);
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 2_000));
    startRelay();
    await waitFor(
      async () => (await mesh.ping(host('sym1'), host('cone1').address, { count: 1, waitS: 1 })).loss === 0,
      30_000,
      'the relayed pair to resume',
    );
    const resumedMs = Date.now() - killedAt;
    const { longestGapMs, replies } = await direct.result();
    process.stdout.write(
      `${JSON.stringify({ relayRestart: { resumedMs, directLongestGapMs: longestGapMs } })}\n`,
    );
    expect(resumedMs).toBeLessThanOrEqual(32_000);
    expect(longestGapMs).toBeLessThan(500);
    expect(replies).toBeGreaterThan(600);
  }, 90_000);

  it('mode switches apply without an agent restart: always, never, auto', async () => {
    const pids = [...mesh.agents.values()].map((a) => a.process.pid);
    await setMode('always');
    await matrixIs(Object.fromEntries(Object.keys(MATRIX).map((k) => [k, 'relay'])), 30_000);
    await setMode('never');
    await waitFor(
      async () => (await relayConnections()) === 0,
      20_000,
      'every agent to drop its relay connection',
    );
    await matrixIs({ 'cone1>cone2': 'direct', 'cone2>cone1': 'direct' }, 30_000);
    await setMode('auto');
    await matrixIs(MATRIX, (RETRY_S + 30) * 1000);
    expect([...mesh.agents.values()].map((a) => a.process.pid)).toEqual(pids);
    expect([...mesh.agents.values()].every((a) => !a.process.done)).toBe(true);
  }, 150_000);
});
