// Issue 15, chaos against the control plane (real API server and etcd, real agents, the project's relay):
// - kube-apiserver and etcd stopped for 2 minutes: the direct and the relayed tunnel keep forwarding (a 10 ms
//   ping across the outage loses nothing on the direct pair), the agents ride it out without a restart (same
//   PIDs) and their watches come back: a peer created after the outage is configured and shows in status;
// - a WireKubePeer edited to nonsense (bad key, a non-CIDR, another peer's address, a CIDR covering the API
//   server) is rejected by the API server naming the field, or skipped with an Event, and no other pair loses
//   a packet.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosMesh, type ChaosNode, longestGap, type Pinger, startPinger } from '../src/chaos/index.js';
import { wgKeys, wgUp } from '../src/index.js';
import { waitFor } from '../src/mesh/fixture.js';

const OUTAGE_MS = 120_000;
let chaos: ChaosMesh;

beforeAll(async () => {
  chaos = await ChaosMesh.create({ extraHosts: 1 });
}, 240_000);

afterAll(async () => {
  await chaos?.destroy();
});

function publicKey(): string {
  return generateKeyPairSync('x25519')
    .publicKey.export({ format: 'der', type: 'spki' })
    .subarray(-32)
    .toString('base64');
}

function pingers(pairs: Array<[ChaosNode, ChaosNode]>): Map<string, Pinger> {
  return new Map(
    pairs.map(([a, b]) => [`${a}>${b}`, startPinger(chaos.host(a), chaos.host(b).address)] as const),
  );
}

async function stopAll(running: Map<string, Pinger>) {
  const out: Record<string, { transmitted: number; lost: number; longestGapMs: number; times: number[] }> =
    {};
  for (const [pair, p] of running) {
    const r = await p.stop();
    out[pair] = {
      transmitted: r.transmitted,
      lost: r.lost,
      longestGapMs: r.longestGapMs,
      times: r.replyTimesMs,
    };
  }
  return out;
}

/** WireGuard's public keys on a host's interface. */
async function wgPeers(node: ChaosNode): Promise<string[]> {
  const { stdout } = await chaos.host(node).exec(['wg', 'show', 'wire_kube', 'peers'], { allowFail: true });
  return stdout.trim().split('\n').filter(Boolean);
}

async function kubectlJson<T>(args: string[]): Promise<T> {
  const { stdout } = await chaos.lab.controlPlane!.kubectl([...args, '-o', 'json']);
  return JSON.parse(stdout) as T;
}

describe('chaos: the control plane', () => {
  it('API server and etcd down for 2 minutes: tunnels keep forwarding, agents recover without a restart', async () => {
    const cp = chaos.lab.controlPlane!;
    const pids = new Map([...chaos.mesh.agents].map(([name, a]) => [name, a.process.pid]));
    const running = pingers([
      ['cone1', 'cone2'],
      ['sym1', 'cone1'],
    ]);
    await new Promise((r) => setTimeout(r, 2_000));
    const downAt = Date.now();
    await cp.stop();
    const unreachable = await cp.kubectl(['get', '--raw', '/readyz', '--request-timeout=2s'], {
      allowFail: true,
    });
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
    const aliveThroughout = [...chaos.mesh.agents.values()].every((a) => !a.process.done);
    await cp.start();
    const upAt = Date.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const seen = await stopAll(running);
    const summary = Object.fromEntries(
      Object.entries(seen).map(([pair, r]) => [
        pair,
        {
          transmitted: r.transmitted,
          lost: r.lost,
          longestGapMs: r.longestGapMs,
          longestGapInOutageMs: Math.round(longestGap(r.times, downAt, upAt)),
        },
      ]),
    );
    process.stdout.write(`${JSON.stringify({ apiOutage: { outageMs: upAt - downAt, ...summary } })}\n`);

    expect(unreachable.code, 'the API server was really down').not.toBe(0);
    expect(aliveThroughout, chaos.mesh.logs()).toBe(true);
    const direct = summary['cone1>cone2']!;
    const relayed = summary['sym1>cone1']!;
    expect(direct.transmitted).toBeGreaterThan(5_000);
    expect(direct.lost, JSON.stringify(summary)).toBe(0);
    // The relayed path needs nothing from the API server either: it keeps answering all along.
    expect(relayed.longestGapInOutageMs, JSON.stringify(summary)).toBeLessThan(2_000);
    expect(relayed.lost, JSON.stringify(summary)).toBeLessThanOrEqual(relayed.transmitted / 100);

    // The watches are back without a restart: a node that joins now (a hand-run wireguard-go on a public
    // host, its WireKubePeer created after the outage) is configured by every agent, handshakes, answers
    // pings, and shows in every agent's status.
    const late = chaos.host('tool1');
    const keys = await wgKeys(late);
    const peers = await chaos.mesh.peers();
    const meshNodes = ['cone1', 'cone2', 'sym1'] as const;
    await wgUp(late, {
      iface: 'wg0',
      keys,
      listenPort: 51820,
      address: '10.199.0.1/32',
      peers: meshNodes.map((n) => ({
        publicKey: peers.find((p) => p.metadata.name === `node-${n}`)!.spec.publicKey,
        allowedIPs: [`${chaos.host(n).address}/32`],
      })),
    });
    for (const n of meshNodes)
      await late.exec(['ip', 'route', 'add', `${chaos.host(n).address}/32`, 'dev', 'wg0']);
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'wirekube.io/v1alpha1',
        kind: 'WireKubePeer',
        metadata: { name: 'node-late', labels: { 'wirekube.io/node': 'late' } },
        spec: {
          publicKey: keys.publicKey,
          allowedIPs: ['10.199.0.1/32'],
          endpoint: `${late.address}:51820`,
          persistentKeepalive: 5,
        },
      }),
    });
    const createdAt = Date.now();
    let lastStatus: unknown;
    await waitFor(
      async () => {
        for (const node of meshNodes) if (!(await wgPeers(node)).includes(keys.publicKey)) return false;
        for (const node of meshNodes)
          if ((await chaos.mesh.ping(chaos.host(node), '10.199.0.1', { count: 1 })).loss !== 0) return false;
        const now = await chaos.mesh.peers();
        lastStatus = now.map((p) => [p.metadata.name, p.status?.peerTransports]);
        return meshNodes.every(
          (n) => now.find((p) => p.metadata.name === `node-${n}`)?.status?.peerTransports?.['node-late'],
        );
      },
      90_000,
      'node-late configured, answering and in every status',
    ).catch((error) => {
      throw new Error(
        `${(error as Error).message}\nstatus: ${JSON.stringify(lastStatus)}\n${chaos.mesh.logs()}`,
      );
    });
    const caughtUpMs = Date.now() - createdAt;
    process.stdout.write(`${JSON.stringify({ apiOutage: { afterOutageJoinCaughtUpMs: caughtUpMs } })}\n`);
    expect(new Map([...chaos.mesh.agents].map(([name, a]) => [name, a.process.pid]))).toEqual(pids);
    await cp.kubectl(['delete', 'wirekubepeer', 'node-late', '--wait=false']);
    await waitFor(async () => !(await wgPeers('cone1')).includes(keys.publicKey), 30_000, 'node-late to go');
  }, 300_000);

  it('a WireKubePeer edited to nonsense is rejected or skipped with an Event; no other pair loses a packet', async () => {
    const cp = chaos.lab.controlPlane!;
    const running = pingers([
      ['cone1', 'cone2'],
      ['sym1', 'cone1'],
      ['sym1', 'cone2'],
    ]);
    // Sorts before every real peer by name: the plan must not let it take anything from them.
    const name = 'node-aaa-bogus';
    const key = publicKey();
    const bogus = (spec: Record<string, unknown>) =>
      JSON.stringify({
        apiVersion: 'wirekube.io/v1alpha1',
        kind: 'WireKubePeer',
        metadata: { name, labels: { 'wirekube.io/node': 'aaa-bogus' } },
        spec: { publicKey: key, allowedIPs: ['10.198.0.1/32'], ...spec },
      });
    const edits: Record<string, unknown> = {};
    try {
      await cp.kubectl(['apply', '-f', '-'], { input: bogus({}) });
      await waitFor(
        async () => (await wgPeers('cone1')).includes(key),
        30_000,
        'the bogus peer in WireGuard',
      );

      // Rejected by the API server, the message naming the field.
      for (const [what, spec] of [
        ['not a CIDR', { allowedIPs: ['10.198.0.1/33'] }],
        ['an endpoint that is a DNS name', { endpoint: 'relay.example.com:51820' }],
        ['keepalive out of range', { persistentKeepalive: 70_000 }],
      ] as const) {
        const r = await cp.kubectl(['apply', '-f', '-'], { input: bogus(spec), allowFail: true });
        edits[what] =
          r.code === 0 ? 'accepted' : (r.stderr.match(/spec\.[A-Za-z]+[^\n]*/)?.[0] ?? r.stderr.trim());
        expect(r.code, `${what}: ${r.stdout}`).not.toBe(0);
        expect(r.stderr).toMatch(/spec\.(allowedIPs|endpoint|persistentKeepalive)/);
      }

      // Accepted by the schema but skipped by every agent, with an Event naming the reason.
      const skips: Array<[string, Record<string, unknown>, RegExp]> = [
        ['bad key', { publicKey: 'not-a-wireguard-key' }, /publicKey is not a base64 WireGuard key/],
        [
          "another peer's address",
          { allowedIPs: [`${chaos.host('cone2').address}/32`] },
          /overlaps .* of node-cone2/,
        ],
        ['a CIDR covering this node', { allowedIPs: ['0.0.0.0/0'] }, /overlaps/],
      ];
      for (const [what, spec, reason] of skips) {
        await cp.kubectl(['apply', '-f', '-'], { input: bogus(spec) });
        await waitFor(
          async () => {
            const events = await kubectlJson<{ items: Array<{ reason: string; message: string }> }>([
              'get',
              'events',
              '-A',
              '--field-selector',
              `involvedObject.name=${name}`,
            ]);
            return events.items.some((e) => e.reason === 'PeerSkipped' && reason.test(e.message));
          },
          30_000,
          `a PeerSkipped Event for ${what}`,
        ).catch((error) => {
          throw new Error(`${(error as Error).message}\n${chaos.mesh.logs()}`);
        });
        expect(await wgPeers('cone1')).not.toContain(key);
        edits[what] = 'skipped with an Event';
      }

      // A CIDR covering the API server: a WireGuard peer, but its route is never installed.
      await cp.kubectl(['apply', '-f', '-'], { input: bogus({ allowedIPs: ['198.51.100.0/24'] }) });
      await waitFor(async () => (await wgPeers('cone1')).includes(key), 30_000, 'the bogus peer back');
      await new Promise((r) => setTimeout(r, 2_000));
      for (const node of ['cone1', 'cone2', 'sym1'] as const) {
        const { stdout } = await chaos.host(node).exec(['ip', 'route', 'show', 'table', '22347']);
        expect(stdout, node).not.toContain('198.51.100.0/24');
        const via = (await chaos.host(node).exec(['ip', 'route', 'get', '198.51.100.20'])).stdout;
        expect(via, node).not.toContain('wire_kube');
      }
      await waitFor(
        async () => {
          const events = await kubectlJson<{ items: Array<{ reason: string; message: string }> }>([
            'get',
            'events',
            '-A',
            '--field-selector',
            `involvedObject.name=${name}`,
          ]);
          return events.items.some(
            (e) => e.reason === 'RouteWithheld' && e.message.includes('198.51.100.0/24'),
          );
        },
        30_000,
        'a RouteWithheld Event',
      );
      edits['a CIDR covering the API server'] = 'route withheld with an Event';
      expect(
        (await cp.kubectl(['get', '--raw', '/readyz'])).stdout.trim(),
        'the API server stays reachable',
      ).toBe('ok');
    } finally {
      await cp.kubectl(['delete', 'wirekubepeer', name, '--ignore-not-found', '--wait=false'], {
        allowFail: true,
      });
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const seen = await stopAll(running);
    const summary = Object.fromEntries(
      Object.entries(seen).map(([pair, r]) => [
        pair,
        { transmitted: r.transmitted, lost: r.lost, longestGapMs: r.longestGapMs },
      ]),
    );
    process.stdout.write(`${JSON.stringify({ nonsensePeer: { edits, pings: summary } })}\n`);
    for (const [pair, r] of Object.entries(summary)) {
      expect(r.transmitted, pair).toBeGreaterThan(500);
      expect(r.lost, `${pair}: ${JSON.stringify(summary)}\n${chaos.mesh.logs()}`).toBe(0);
    }
  }, 180_000);
});
