import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WireKubePeer } from '@wirekube/crd-types';
import type { LabProcess } from '../exec/process.js';
import type { LabHost } from '../host.js';
import type { Lab } from '../lab.js';

/** The built agent program; `npm test` and the playground build it first. */
export const AGENT_MAIN = fileURLToPath(new URL('../../../packages/agent/dist/main.js', import.meta.url));

export interface MeshSpec {
  listenPort?: number;
  /** Default: the lab's STUN server (two addresses). */
  stunServers?: readonly string[];
  relay?: Record<string, unknown>;
}

export interface RunningAgent {
  host: LabHost;
  process: LabProcess;
  keyDir: string;
}

export interface AgentOptions {
  /** Extra flags for `wirekube-agent run`. */
  args?: readonly string[];
  keyDir?: string;
}

/**
 * A WireKube mesh on a lab: the WireKubeMesh, one Node per host, and a real agent process in each host, run
 * as a DaemonSet would run it (its own network namespace, the host's /run/wireguard, a key directory).
 */
export class MeshFixture {
  readonly agents = new Map<string, RunningAgent>();
  private readonly stateDir: string;

  constructor(
    readonly lab: Lab,
    stateDir: string,
  ) {
    if (!lab.controlPlane) throw new Error('MeshFixture needs a lab with controlPlane: true');
    if (!existsSync(AGENT_MAIN))
      throw new Error(`${AGENT_MAIN} is missing: build the agent first (npx nx build @wirekube/agent)`);
    this.stateDir = stateDir;
    mkdirSync(stateDir, { recursive: true });
  }

  private get cp() {
    return this.lab.controlPlane!;
  }

  async createMesh(spec: MeshSpec = {}): Promise<void> {
    const mesh = {
      apiVersion: 'wirekube.io/v1alpha1',
      kind: 'WireKubeMesh',
      metadata: { name: 'default' },
      spec: {
        listenPort: spec.listenPort ?? 51820,
        stunServers: [...(spec.stunServers ?? this.lab.stunServers)],
        ...(spec.relay ? { relay: spec.relay } : {}),
      },
    };
    await this.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(mesh) });
  }

  async registerNodes(hosts: readonly LabHost[] = this.lab.hosts): Promise<void> {
    await Promise.all(hosts.map((h) => this.cp.createNode(h.name, { internalIP: h.address })));
  }

  keyDirOf(host: LabHost): string {
    return join(this.stateDir, host.name, 'keys');
  }

  /**
   * The host's relay-link socket. Every lab host shares one filesystem, so the default /run/wirekube would be
   * one socket for all of them: each host gets its own, as each node has its own /run/wirekube.
   */
  relayLinkSocketOf(host: LabHost): string {
    return join(this.stateDir, host.name, 'run', 'relay-link.sock');
  }

  /** Where the relay-link an agent starts on this host writes its log. */
  relayLinkLogOf(host: LabHost): string {
    return join(this.stateDir, host.name, 'relay-link.log');
  }

  startAgent(host: LabHost, options: AgentOptions = {}): RunningAgent {
    const keyDir = options.keyDir ?? this.keyDirOf(host);
    const process = host.spawn([
      'node',
      AGENT_MAIN,
      'run',
      '--node-name',
      host.name,
      '--kubeconfig',
      this.cp.hostKubeconfigPath,
      '--key-dir',
      keyDir,
      '--metrics-port',
      '9543',
      '--reconcile-interval-ms',
      '1000',
      '--relay-link-socket',
      this.relayLinkSocketOf(host),
      '--relay-link-log',
      this.relayLinkLogOf(host),
      ...(options.args ?? []),
    ]);
    const agent = { host, process, keyDir };
    this.agents.set(host.name, agent);
    return agent;
  }

  async stopAgent(name: string): Promise<void> {
    const agent = this.agents.get(name);
    if (!agent) return;
    await agent.process.stop(5_000);
    this.agents.delete(name);
  }

  /** Resolves once the agent's log says it started (first reconcile applied). */
  async waitStarted(agent: RunningAgent, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      () => {
        if (agent.process.done)
          throw new Error(`agent on ${agent.host.name} exited:\n${agent.process.output()}`);
        return agent.process.output().includes('"msg":"agent started"');
      },
      timeoutMs,
      `agent on ${agent.host.name} to start`,
    );
  }

  async peers(): Promise<WireKubePeer[]> {
    const { stdout } = await this.cp.kubectl(['get', 'wirekubepeers', '-o', 'json']);
    return (JSON.parse(stdout) as { items: WireKubePeer[] }).items;
  }

  async peer(name: string): Promise<WireKubePeer | undefined> {
    return (await this.peers()).find((p) => p.metadata.name === name);
  }

  /** Loss in percent of `count` pings from one host to an address (0 when all came back). */
  async ping(
    from: LabHost,
    to: string,
    options: { count?: number; intervalS?: number; waitS?: number } = {},
  ) {
    const count = options.count ?? 3;
    const result = await from.exec(
      [
        'ping',
        '-n',
        '-q',
        '-c',
        String(count),
        '-i',
        String(options.intervalS ?? 0.2),
        '-W',
        String(options.waitS ?? 1),
        to,
      ],
      { allowFail: true, timeoutMs: 60_000 + count * 1_000 },
    );
    const loss = /([\d.]+)% packet loss/.exec(result.stdout)?.[1];
    return { loss: loss === undefined ? 100 : Number(loss), output: result.stdout };
  }

  /** Every agent's output, for a failing test's message. */
  logs(): string {
    return [...this.agents.values()]
      .map((a) => `--- ${a.host.name} ---\n${a.process.output().split('\n').slice(-40).join('\n')}`)
      .join('\n');
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((name) => this.stopAgent(name)));
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if ((error as Error).message.includes('exited')) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
