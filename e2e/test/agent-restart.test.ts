// Issue 6, restart behaviour (seed, node management) and the cleanup command:
// - restarting an agent 5 times while pinging every 10 ms over a direct tunnel loses no ping, and the
//   interface is adopted, not recreated;
// - a changed key file makes the next agent recreate the interface with the new key, and peers reconnect;
// - `wirekube-agent cleanup` leaves no WireKube rule, route, interface, iptables rule or key behind.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../src/index.js';
import { AGENT_MAIN, MeshFixture, waitFor } from '../src/mesh/fixture.js';

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
let pub: LabHost;
let cone: LabHost;

async function ifindex(host: LabHost): Promise<number> {
  const { stdout } = await host.exec(['ip', '-j', 'link', 'show', 'wire_kube']);
  return (JSON.parse(stdout) as Array<{ ifindex: number }>)[0]!.ifindex;
}

async function waitForPing(from: LabHost, to: LabHost, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => (await mesh.ping(from, to.address, { count: 1 })).loss === 0,
    timeoutMs,
    `${from.name} → ${to.name}`,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
  });
}

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'pub', nat: 'none' },
      { name: 'cone', nat: 'cone', lan: 'lan1' },
    ],
    stun: true,
    controlPlane: true,
  });
  pub = lab.host('pub');
  cone = lab.host('cone');
  stateDir = mkdtempSync(join(tmpdir(), 'wk-agent-restart-'));
  mesh = new MeshFixture(lab, stateDir);
  await mesh.createMesh();
  await mesh.registerNodes();
  for (const host of lab.hosts) mesh.startAgent(host);
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a)));
  await waitForPing(cone, pub);
}, 180_000);

afterAll(async () => {
  await mesh?.stopAll();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('agent restart', () => {
  it('five restarts under a 10 ms ping lose nothing and never recreate the interface', async () => {
    const before = await ifindex(pub);
    // Runs until interrupted: SIGINT makes ping print its summary (the lab execs, so this PID is ping's).
    const ping = cone.spawn(['ping', '-n', '-q', '-i', '0.01', '-W', '1', pub.address]);
    await new Promise((r) => setTimeout(r, 1_000));
    const outcomes: string[] = [];
    const timings: string[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const previous = mesh.agents.get('pub')!;
      await mesh.stopAgent('pub');
      const t1 = Date.now();
      const agent = mesh.startAgent(pub);
      await mesh.waitStarted(agent);
      timings.push(`stop ${t1 - t0} ms, start ${Date.now() - t1} ms`);
      outcomes.push(/"outcome":"(\w+)"/.exec(agent.process.output())?.[1] ?? 'unknown');
      if (i === 0) console.log(previous.process.output().split('\n').slice(-6).join('\n'));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    // Still running here means it was running through every restart (it started before the first).
    const pingedThroughout = !ping.done;
    process.kill(ping.pid, 'SIGINT');
    await ping.exited;
    console.log(`restart timings: ${timings.join('; ')}`);
    const summary = ping.output();
    const match = /(\d+) packets transmitted, (\d+) received/.exec(summary);
    expect(match, summary).not.toBeNull();
    const [transmitted, received] = [Number(match![1]), Number(match![2])];
    console.log(
      `restart test: ${transmitted} pings sent every 10 ms across 5 agent restarts, ${transmitted - received} lost`,
    );
    expect(pingedThroughout).toBe(true);
    expect(transmitted).toBeGreaterThan(0);
    expect(transmitted - received, summary).toBe(0);
    expect(outcomes).toEqual(['adopted', 'adopted', 'adopted', 'adopted', 'adopted']);
    expect(await ifindex(pub)).toBe(before);
  }, 180_000);

  it('a changed key file recreates the interface with the new key and peers reconnect', async () => {
    const before = await ifindex(pub);
    await mesh.stopAgent('pub');
    const privateKey = generateKeyPairSync('x25519')
      .privateKey.export({ format: 'der', type: 'pkcs8' })
      .subarray(-32)
      .toString('base64');
    writeFileSync(join(mesh.keyDirOf(pub), 'private.key'), `${privateKey}\n`, { mode: 0o600 });
    const agent = mesh.startAgent(pub);
    await mesh.waitStarted(agent);
    expect(agent.process.output()).toContain('"outcome":"recreated"');
    expect(await ifindex(pub)).not.toBe(before);
    const shown = (await pub.exec(['wg', 'show', 'wire_kube', 'public-key'])).stdout.trim();
    await waitFor(
      async () => (await mesh.peer('node-pub'))?.spec.publicKey === shown,
      30_000,
      'the CR to carry the new key',
    );
    await waitForPing(cone, pub);
    expect((await mesh.ping(cone, pub.address, { count: 3 })).loss).toBe(0);
  }, 120_000);
});

describe('wirekube-agent cleanup', () => {
  it('removes every WireKube rule, route, interface, iptables rule and key, and nothing else', async () => {
    await mesh.stopAgent('pub');
    const keyDir = mesh.keyDirOf(pub);
    // What the relay and gateway work will install, plus a rule somebody else owns.
    await pub.exec(['iptables', '-t', 'filter', '-N', 'KUBE-FIREWALL']);
    await pub.exec([
      'iptables',
      '-t',
      'filter',
      '-A',
      'KUBE-FIREWALL',
      '-m',
      'mark',
      '--mark',
      '0x574b',
      '-d',
      '127.0.0.0/8',
      '-m',
      'comment',
      '--comment',
      'wirekube: allow WG relay proxy on loopback',
      '-j',
      'ACCEPT',
    ]);
    await pub.exec([
      'iptables',
      '-t',
      'filter',
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      '9999',
      '-m',
      'comment',
      '--comment',
      'not ours',
      '-j',
      'ACCEPT',
    ]);
    expect((await pub.exec(['ip', 'route', 'show', 'table', '22347'])).stdout).toContain('dev wire_kube');

    const result = await pub.exec(
      ['node', AGENT_MAIN, 'cleanup', '--key-dir', keyDir, '--interface', 'wire_kube'],
      { allowFail: true },
    );
    expect(result.code, result.stderr + result.stdout).toBe(0);

    expect((await pub.exec(['ip', 'link', 'show', 'wire_kube'], { allowFail: true })).code).not.toBe(0);
    expect((await pub.exec(['ip', 'route', 'show', 'table', '22347'])).stdout.trim()).toBe('');
    expect(
      (await pub.exec(['ip', '-6', 'route', 'show', 'table', '22347'], { allowFail: true })).stdout.trim(),
    ).toBe('');
    const rules = (await pub.exec(['ip', 'rule', 'show'])).stdout;
    expect(rules).not.toMatch(/^(199|200):/m);
    expect(rules).not.toContain('0x574b');
    const saved = (await pub.exec(['iptables-save'])).stdout;
    expect(saved).not.toContain('wirekube');
    expect(saved).toContain('not ours');
    expect(existsSync(keyDir)).toBe(false);
    await waitFor(
      async () => (await pub.exec(['ls', '/run/wireguard'])).stdout.trim() === '',
      5_000,
      'the UAPI socket to go',
    );
  });
});
