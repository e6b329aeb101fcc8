import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabProcess } from '../exec/process.js';
import type { LabHost } from '../host.js';
import { createLab, type Lab } from '../lab.js';
import { MeshFixture, waitFor } from '../mesh/fixture.js';
import { relayCommand } from '../relay-program.js';

export const RELAY_PORT = 3478;
const RELAY_HTTP_PORT = 9090;

/** The nodes of the chaos mesh and how each ordered pair must travel once it has settled. */
export const CHAOS_NODES = ['cone1', 'cone2', 'sym1'] as const;
export type ChaosNode = (typeof CHAOS_NODES)[number];
export const CHAOS_MATRIX: Readonly<Record<string, 'direct' | 'relay'>> = {
  'cone1>cone2': 'direct',
  'cone2>cone1': 'direct',
  'cone1>sym1': 'relay',
  'sym1>cone1': 'relay',
  'cone2>sym1': 'relay',
  'sym1>cone2': 'relay',
};

/**
 * The lab every chaos test shares: a public relay host running the project's relay program, two hosts behind
 * cone NATs (a direct pair) and one behind a symmetric NAT (relayed to both), each with a real agent against
 * the real API server. `create()` resolves once every pair travels as CHAOS_MATRIX says.
 */
export class ChaosMesh {
  relay!: LabProcess;
  private constructor(
    readonly lab: Lab,
    readonly mesh: MeshFixture,
    private readonly stateDir: string,
  ) {}

  static async create(options: { extraHosts?: number } = {}): Promise<ChaosMesh> {
    const lab = await createLab({
      hosts: [
        { name: 'relay', nat: 'none' },
        { name: 'cone1', nat: 'cone', lan: 'lan1' },
        { name: 'cone2', nat: 'cone', lan: 'lan2' },
        { name: 'sym1', nat: 'symmetric' },
        ...Array.from({ length: options.extraHosts ?? 0 }, (_, i) => ({
          name: `tool${i + 1}`,
          nat: 'none' as const,
        })),
      ],
      stun: true,
      controlPlane: true,
    });
    const stateDir = mkdtempSync(join(tmpdir(), 'wk-chaos-'));
    const chaos = new ChaosMesh(lab, new MeshFixture(lab, stateDir), stateDir);
    try {
      await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
      chaos.startRelay();
      await chaos.mesh.createMesh({
        relay: {
          mode: 'auto',
          provider: 'external',
          external: { endpoint: `${lab.host('relay').address}:${RELAY_PORT}` },
          handshakeTimeoutSeconds: 10,
          directRetryIntervalSeconds: 30,
        },
      });
      const nodes = CHAOS_NODES.map((n) => lab.host(n));
      await chaos.mesh.registerNodes(nodes);
      for (const h of nodes) chaos.mesh.startAgent(h);
      await Promise.all([...chaos.mesh.agents.values()].map((a) => chaos.mesh.waitStarted(a, 60_000)));
      await chaos.matrixIs(CHAOS_MATRIX, 120_000);
      return chaos;
    } catch (error) {
      await chaos.destroy();
      throw error;
    }
  }

  host(name: ChaosNode | 'relay' | `tool${number}`): LabHost {
    return this.lab.host(name);
  }

  startRelay(): LabProcess {
    this.relay = this.host('relay').spawn(
      relayCommand(['--port', String(RELAY_PORT), '--http-port', String(RELAY_HTTP_PORT)]),
    );
    return this.relay;
  }

  get relayAddress(): { host: string; port: number } {
    return { host: this.host('relay').address, port: RELAY_PORT };
  }

  /** Per ordered pair, what each agent published in status.peerTransports. */
  async transports(): Promise<Record<string, string>> {
    const peers = await this.mesh.peers();
    const out: Record<string, string> = {};
    for (const a of CHAOS_NODES) {
      const got = peers.find((p) => p.metadata.name === `node-${a}`)?.status?.peerTransports ?? {};
      for (const b of CHAOS_NODES) if (b !== a) out[`${a}>${b}`] = got[`node-${b}`] ?? 'missing';
    }
    return out;
  }

  /** WireGuard's own view per ordered pair: relayed (endpoint on 127.0.0.1) or direct. */
  async wgPaths(): Promise<Record<string, string>> {
    const peers = await this.mesh.peers();
    const keyOf = new Map(peers.map((p) => [p.metadata.name, p.spec.publicKey]));
    const out: Record<string, string> = {};
    for (const a of CHAOS_NODES) {
      const { stdout } = await this.host(a).exec(['wg', 'show', 'wire_kube', 'endpoints'], {
        allowFail: true,
      });
      const endpoints = new Map(
        stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t') as [string, string]),
      );
      for (const b of CHAOS_NODES) {
        if (b === a) continue;
        const endpoint = endpoints.get(keyOf.get(`node-${b}`) ?? '') ?? '';
        out[`${a}>${b}`] = endpoint.startsWith('127.0.0.1:') ? 'relay' : endpoint ? 'direct' : 'none';
      }
    }
    return out;
  }

  /** Waits until every listed pair travels as wanted, both in the CRs' status and in WireGuard. */
  async matrixIs(want: Readonly<Record<string, string>>, timeoutMs: number): Promise<number> {
    const started = Date.now();
    let last: unknown;
    await waitFor(
      async () => {
        const [cr, wg] = [await this.transports(), await this.wgPaths()];
        last = { cr, wg };
        return Object.entries(want).every(([k, v]) => cr[k] === v && wg[k] === v);
      },
      timeoutMs,
      `transports ${JSON.stringify(want)}`,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\nlast: ${JSON.stringify(last)}\n${this.mesh.logs()}`);
    });
    return Date.now() - started;
  }

  /** Waits until one ping from `from` to `to`'s mesh address comes back; returns how long that took. */
  async pingable(from: ChaosNode, to: ChaosNode, timeoutMs: number): Promise<number> {
    const started = Date.now();
    await waitFor(
      async () =>
        (await this.mesh.ping(this.host(from), this.host(to).address, { count: 1, waitS: 1 })).loss === 0,
      timeoutMs,
      `${from} → ${to} to answer pings`,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${this.mesh.logs()}`);
    });
    return Date.now() - started;
  }

  async destroy(): Promise<void> {
    await this.mesh.stopAll().catch(() => undefined);
    await this.relay?.stop().catch(() => undefined);
    await this.lab.destroy();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
