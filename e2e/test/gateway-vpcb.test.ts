// Issue 12, "VPC-B": a subnet (172.20.0.0/16) behind two gateway hosts b1 and b2, a client a1 elsewhere on the
// lab internet; real API server, real agents on every host, two real controller processes (leader + standby).
// The subnet is a namespace this test builds itself (the lab library has no subnet element): a bridge at
// 172.20.1.254 with a TCP listener on :443 (the health target, which answers with the caller's address so the
// test sees what source the subnet sees) and a veth to each gateway host.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WireKubeGateway } from '@wirekube/crd-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost, type LabProcess } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

const run = promisify(execFile);
const CONTROLLER_MAIN = fileURLToPath(new URL('../../packages/controller/dist/main.js', import.meta.url));
const TARGET = '172.20.1.254';
const INTERVAL_S = 5; // the schema's minimum
const THRESHOLD = 1;
const GATEWAY = 'vpc-b';

let lab: Lab;
let mesh: MeshFixture;
let stateDir: string;
let subnetNs = '';
let listener: ChildProcess | undefined;
const controllers = new Map<string, LabProcess>();

/** A one-file TCP server: every connection gets the peer's address and is closed. */
const LISTENER = `
const net = require('node:net');
for (const port of [443, 8080]) {
  // Probes hang up at once: a reset on an answered socket must not kill the listener.
  net.createServer((s) => { s.on('error', () => {}); s.end(s.remoteAddress.replace(/^::ffff:/, '') + '\\n'); }).listen(port, '${TARGET}');
}
setInterval(() => {}, 1 << 30);
`;

async function ns(netns: string, argv: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, ...argv]);
  return stdout;
}

async function buildSubnet(b1: LabHost, b2: LabHost): Promise<void> {
  subnetNs = `${lab.id}-vpcb`;
  await run('ip', ['netns', 'add', subnetNs]);
  await ns(subnetNs, ['ip', 'link', 'set', 'lo', 'up']);
  await ns(subnetNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  await ns(subnetNs, ['ip', 'addr', 'add', `${TARGET}/16`, 'dev', 'br0']);
  await ns(subnetNs, ['ip', 'link', 'set', 'br0', 'up']);
  for (const [host, address, port] of [
    [b1, '172.20.1.1', 'p1'],
    [b2, '172.20.1.2', 'p2'],
  ] as const) {
    // Created inside the subnet namespace with the peer end moved straight into the host: nothing in the root
    // namespace, and deleting the namespaces deletes the pair.
    await ns(subnetNs, [
      'ip',
      'link',
      'add',
      port,
      'type',
      'veth',
      'peer',
      'name',
      'vpcb',
      'netns',
      host.netns,
    ]);
    await ns(subnetNs, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
    await host.exec(['ip', 'addr', 'add', `${address}/16`, 'dev', 'vpcb']);
    await host.exec(['ip', 'link', 'set', 'vpcb', 'up']);
    // Return traffic: SNAT'd to the gateway's mesh address comes back to that gateway.
    await ns(subnetNs, ['ip', 'route', 'add', `${host.address}/32`, 'via', address]);
  }
  // Without SNAT the subnet must know the client's mesh address: route it via b1 (the first peerRef).
  await ns(subnetNs, ['ip', 'route', 'add', `${lab.host('a1').address}/32`, 'via', '172.20.1.1']);
  listener = spawn('ip', ['netns', 'exec', subnetNs, 'node', '-e', LISTENER], { stdio: 'ignore' });
  await waitFor(
    async () => (await ns(subnetNs, ['ss', '-ltn'])).includes(`${TARGET}:443`),
    10_000,
    'the subnet listener',
  );
}

async function destroySubnet(): Promise<void> {
  if (listener?.pid) {
    listener.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  if (subnetNs) await run('ip', ['netns', 'del', subnetNs]).catch(() => undefined);
}

function startController(host: LabHost, identity: string): LabProcess {
  const process = host.spawn([
    'node',
    CONTROLLER_MAIN,
    '--kubeconfig',
    lab.controlPlane!.hostKubeconfigPath,
    '--namespace',
    'wirekube-system',
    '--identity',
    identity,
    '--metrics-port',
    '9544',
  ]);
  controllers.set(identity, process);
  return process;
}

async function gateway(): Promise<WireKubeGateway> {
  const { stdout } = await lab.controlPlane!.kubectl(['get', 'wkgw', GATEWAY, '-o', 'json']);
  return JSON.parse(stdout) as WireKubeGateway;
}

async function applyGateway(snat: boolean): Promise<void> {
  const body = {
    apiVersion: 'wirekube.io/v1alpha1',
    kind: 'WireKubeGateway',
    metadata: { name: GATEWAY },
    spec: {
      peerRefs: ['node-b1', 'node-b2'],
      routes: [{ cidr: '172.20.0.0/16', description: 'VPC-B subnet' }],
      snat: { enabled: snat },
      healthCheck: {
        enabled: true,
        target: `${TARGET}:443`,
        intervalSeconds: INTERVAL_S,
        timeoutSeconds: 1,
        failureThreshold: THRESHOLD,
      },
    },
  };
  await lab.controlPlane!.kubectl(['apply', '-f', '-'], { input: JSON.stringify(body) });
}

/** What address the subnet sees for a TCP connection from `host`. */
async function seenFrom(host: LabHost): Promise<string> {
  const script = `const s=require('node:net').connect(8080,'${TARGET}');let d='';s.setTimeout(2000,()=>{process.exit(3)});s.on('data',(c)=>d+=c);s.on('end',()=>{process.stdout.write(d.trim());process.exit(0)});s.on('error',()=>process.exit(2));`;
  const result = await host.exec(['node', '-e', script], { allowFail: true, timeoutMs: 5_000 });
  return result.code === 0 ? result.stdout.trim() : `failed(${result.code})`;
}

/**
 * Pings the target every 100 ms for `seconds` while `during` runs, and returns the longest time without a
 * reply (from ping's own timestamps) and how many replies came.
 */
async function pingGap(
  host: LabHost,
  seconds: number,
  during: () => Promise<void>,
): Promise<{ gapS: number; replies: number }> {
  const ping = host.exec(
    // A count, not -w: with a deadline iputils ping quits at the first ICMP error (b1's "net unreachable").
    ['ping', '-D', '-n', '-i', '0.1', '-W', '1', '-c', String(seconds * 10), TARGET],
    {
      allowFail: true,
      timeoutMs: (seconds + 10) * 1000,
    },
  );
  const started = Date.now() / 1000;
  await during();
  const { stdout } = await ping;
  const stamps = [...stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]));
  const ended = started + seconds;
  let gap = 0;
  let previous = started;
  for (const t of [...stamps, ended]) {
    gap = Math.max(gap, t - previous);
    previous = t;
  }
  return { gapS: gap, replies: stamps.length };
}

async function setLink(host: LabHost, up: boolean): Promise<void> {
  await host.exec(['ip', 'link', 'set', 'vpcb', up ? 'up' : 'down']);
}

async function waitActive(peer: string | undefined, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => (await gateway()).status?.activePeer === peer,
    timeoutMs,
    `activePeer ${peer ?? '(none)'}`,
  ).catch(async (error) => {
    throw new Error(
      `${(error as Error).message}\n${JSON.stringify((await gateway()).status)}\n${mesh.logs()}\n--- controllers ---\n${[
        ...controllers.values(),
      ]
        .map((c) => c.output().split('\n').slice(-30).join('\n'))
        .join('\n')}`,
    );
  });
}

beforeAll(async () => {
  lab = await createLab({
    hosts: [
      { name: 'a1', nat: 'none' },
      { name: 'b1', nat: 'none' },
      { name: 'b2', nat: 'none' },
    ],
    stun: true,
    controlPlane: true,
  });
  stateDir = mkdtempSync(join(tmpdir(), 'wk-gw-e2e-'));
  mesh = new MeshFixture(lab, stateDir);
  await buildSubnet(lab.host('b1'), lab.host('b2'));
  await lab.controlPlane!.kubectl(['create', 'namespace', 'wirekube-system']);
  await mesh.createMesh();
  await mesh.registerNodes();
  for (const host of lab.hosts) mesh.startAgent(host, { args: ['--namespace', 'wirekube-system'] });
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a)));
  startController(lab.host('a1'), 'ctl-1');
  await new Promise((r) => setTimeout(r, 1_000));
  startController(lab.host('b2'), 'ctl-2');
  await applyGateway(false);
}, 180_000);

afterAll(async () => {
  await Promise.all([...controllers.values()].map((c) => c.stop(3_000)));
  await mesh?.stopAll();
  await destroySubnet();
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('VPC-B: a subnet behind two gateway hosts', () => {
  it('a1 reaches the subnet through b1; kubectl shows ACTIVE node-b1 READY true ROUTES 1, Ready True', async () => {
    await waitActive('node-b1', 60_000);
    await waitFor(
      async () => (await mesh.ping(lab.host('a1'), TARGET, { count: 1, waitS: 1 })).loss === 0,
      60_000,
      'a1 → subnet',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    const { stdout } = await lab.controlPlane!.kubectl(['get', 'wkgw']);
    expect(stdout).toMatch(/^NAME\s+ACTIVE\s+READY\s+ROUTES\s+AGE/m);
    expect(stdout).toMatch(new RegExp(`^${GATEWAY}\\s+node-b1\\s+true\\s+1\\s+`, 'm'));
    const status = (await gateway()).status;
    expect(status?.peerHealth).toEqual({ 'node-b1': 'healthy', 'node-b2': 'healthy' });
    expect(status?.lastHealthCheck).toBeTruthy();
    expect(status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ActivePeerHealthy',
    });
    const route = (await lab.host('a1').exec(['ip', 'route', 'get', TARGET])).stdout;
    expect(route).toContain('dev wire_kube');
    expect(route).toContain(`src ${lab.host('a1').address}`);
    expect(route).toContain('table 22347');
    const b1Peer = (await lab.host('a1').exec(['wg', 'show', 'wire_kube', 'allowed-ips'])).stdout;
    expect(b1Peer).toContain('172.20.0.0/16');
  });

  it('without SNAT the subnet sees the mesh address of a1; with SNAT the address of b1', async () => {
    expect(await seenFrom(lab.host('a1'))).toBe(lab.host('a1').address);
    await applyGateway(true);
    await waitFor(
      async () => (await seenFrom(lab.host('a1'))) === lab.host('b1').address,
      30_000,
      'the subnet to see b1 as the source',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh.logs()}`);
    });
    const nat = (await lab.host('b1').exec(['iptables-save', '-t', 'nat'])).stdout;
    expect(nat).toMatch(/wirekube: gateway vpc-b snat/);
  });

  it('killing the leading controller (a standby takes the Lease) does not interrupt gateway traffic', async () => {
    const holder = async () =>
      (
        await lab.controlPlane!.kubectl([
          'get',
          'lease',
          '-n',
          'wirekube-system',
          'wirekube-controller',
          '-o',
          'jsonpath={.spec.holderIdentity}',
        ])
      ).stdout;
    const leader = await holder();
    const standby = leader === 'ctl-1' ? 'ctl-2' : 'ctl-1';
    expect(['ctl-1', 'ctl-2']).toContain(leader);
    const { gapS, replies } = await pingGap(lab.host('a1'), 22, async () => {
      await controllers.get(leader)!.stop(0);
      await waitFor(async () => (await holder()) === standby, 20_000, `${standby} to take the Lease`);
    });
    console.log(`controller takeover: longest ping gap ${gapS.toFixed(2)} s, ${replies} replies`);
    expect(replies).toBeGreaterThan(150);
    expect(gapS).toBeLessThan(1);
    startController(lab.host(leader === 'ctl-1' ? 'a1' : 'b2'), leader);
    expect((await gateway()).status?.activePeer).toBe('node-b1');
  }, 60_000);

  it(`b1's probe fails while a1 pings every 100 ms: back within interval × threshold + 2 s, ACTIVE node-b2`, async () => {
    const { gapS } = await pingGap(lab.host('a1'), 15, async () => {
      await new Promise((r) => setTimeout(r, 1_000));
      await setLink(lab.host('b1'), false);
      await waitActive('node-b2', 15_000);
    });
    if (gapS > INTERVAL_S * THRESHOLD + 2) {
      const a1 = lab.host('a1');
      const b2 = lab.host('b2');
      const dump = await Promise.all([
        a1.exec(['wg', 'show', 'wire_kube', 'dump'], { allowFail: true }),
        a1.exec(['ip', 'route', 'show', 'table', '22347'], { allowFail: true }),
        b2.exec(['iptables-save'], { allowFail: true }),
        b2.exec(['sysctl', 'net.ipv4.ip_forward'], { allowFail: true }),
        b2.exec(['ip', 'route', 'show', 'table', '22347'], { allowFail: true }),
      ]);
      const a1Log = mesh.agents
        .get('a1')
        ?.process.output()
        .split('\n')
        .filter((l) => /gateway|withheld|dataplane/.test(l))
        .slice(-20);
      throw new Error(
        `gap ${gapS} s\n${dump.map((d) => d.stdout).join('\n---\n')}\n${a1Log?.join('\n')}\n${mesh.logs()}`,
      );
    }
    console.log(`gateway failover gap: ${gapS.toFixed(2)} s (bound ${INTERVAL_S * THRESHOLD + 2} s)`);
    expect(await seenFrom(lab.host('a1'))).toBe(lab.host('b2').address);
    const events = (
      await lab.controlPlane!.kubectl([
        'get',
        'events',
        '-n',
        'default',
        '--field-selector',
        `involvedObject.name=${GATEWAY}`,
      ])
    ).stdout;
    expect(events).toContain('GatewayFailover');
  }, 60_000);

  it('b1 recovering does not take the role back (no preemption)', async () => {
    await setLink(lab.host('b1'), true);
    await waitFor(
      async () => (await gateway()).status?.peerHealth?.['node-b1'] === 'healthy',
      20_000,
      'b1 healthy again',
    );
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000));
    expect((await gateway()).status?.activePeer).toBe('node-b2');
  }, 40_000);

  it('the active node dying whole (agent killed, unplugged) fails over within the Lease expiry', async () => {
    const b2 = lab.host('b2');
    // The leading controller runs on b2 now: shut it down gracefully first (it releases the Lease), so what is
    // measured below is the health Lease expiry, not a controller takeover.
    await controllers.get('ctl-2')?.stop(5_000);
    await waitFor(
      async () =>
        (
          await lab.controlPlane!.kubectl([
            'get',
            'lease',
            '-n',
            'wirekube-system',
            'wirekube-controller',
            '-o',
            'jsonpath={.spec.holderIdentity}',
          ])
        ).stdout === 'ctl-1',
      10_000,
      'ctl-1 to lead',
    );
    const died = Date.now();
    await mesh.agents.get('b2')?.process.stop(0);
    await mesh.stopAgent('b2');
    await setLink(b2, false);
    const links = (await b2.exec(['ip', '-o', 'link', 'show'])).stdout;
    for (const name of links.matchAll(/^\d+: ([^:@]+)[:@]/gm)) {
      if (name[1] !== 'lo')
        await b2.exec(['ip', 'link', 'set', name[1] as string, 'down'], { allowFail: true });
    }
    await waitActive('node-b1', 30_000);
    const leaseS = Math.max(10, INTERVAL_S * (THRESHOLD + 1));
    expect((Date.now() - died) / 1000).toBeLessThanOrEqual(leaseS + INTERVAL_S + 2);
    await waitFor(
      async () => (await mesh.ping(lab.host('a1'), TARGET, { count: 1, waitS: 1 })).loss === 0,
      15_000,
      'a1 → subnet through b1 again',
    );
  }, 60_000);

  it('all gateways gone: READY false and the condition says why', async () => {
    await setLink(lab.host('b1'), false);
    await waitActive(undefined, 20_000);
    const status = (await gateway()).status;
    expect(status).toMatchObject({ ready: false, routesInjected: 0 });
    expect(status?.peerHealth).toEqual({ 'node-b1': 'unhealthy', 'node-b2': 'unhealthy' });
    const ready = status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'NoHealthyPeer' });
    expect(ready?.message).toMatch(/node-b1: connect to 172\.20\.1\.254:443/);
    expect(ready?.message).toMatch(/node-b2: health lease expired/);
    const { stdout } = await lab.controlPlane!.kubectl(['get', 'wkgw']);
    expect(stdout).toMatch(new RegExp(`^${GATEWAY}\\s+false\\s+0\\s+`, 'm'));
  }, 40_000);
});
