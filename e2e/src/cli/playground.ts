// `npm run playground`: a simulated multi-network cluster with the mesh running on it. The lab's control plane,
// N hosts (default 4: a public host, two behind cone NATs, one in the same LAN as another), an agent in each,
// and a live view: `kubectl get wirekubepeers -o wide` and a ping matrix over the mesh addresses. Ctrl-C tears
// everything down.
//
//   npm run playground                 4 hosts, live view until Ctrl-C
//   npm run playground -- --hosts 6    more hosts (the fifth is behind a symmetric NAT, then cone and public)
//   npm run playground -- --once       exit 0 as soon as every pair pings (used by the tests)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLab, type HostSpec, type Lab, type LabHost } from '../index.js';
import { MeshFixture } from '../mesh/fixture.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '4' },
    once: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '120' },
  },
});
const count = Number(values.hosts);
if (!Number.isInteger(count) || count < 2 || count > 12) {
  console.error('--hosts must be an integer from 2 to 12');
  process.exit(2);
}

/** The default four, then a symmetric-NAT host, then alternating cone (own LAN) and public hosts. */
function hostSpecs(n: number): HostSpec[] {
  const specs: HostSpec[] = [
    { name: 'pub', nat: 'none' },
    { name: 'cone1', nat: 'cone', lan: 'lan1' },
    { name: 'cone2', nat: 'cone', lan: 'lan2' },
    { name: 'cone1b', nat: 'cone', lan: 'lan1' },
    { name: 'sym', nat: 'symmetric' },
  ];
  for (let i = specs.length; i < n; i++) {
    specs.push(i % 2 ? { name: `cone${i}`, nat: 'cone', lan: `lan${i}` } : { name: `pub${i}`, nat: 'none' });
  }
  return specs.slice(0, n);
}

/** The project's relay program, on a public host of its own (no agent: its address stays out of the mesh). */
const RELAY_MAIN = fileURLToPath(new URL('../../../packages/relay/dist/main.js', import.meta.url));
const RELAY_HOST: HostSpec = { name: 'relay', nat: 'none' };

/** Each pair's transport as the "from" host's WireKubePeer reports it: d(irect) or r(elay). */
async function transportsOf(mesh: MeshFixture): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of await mesh.peers().catch(() => [])) {
    for (const [to, t] of Object.entries(p.status?.peerTransports ?? {}))
      out.set(`${p.metadata.name}>${to}`, t === 'relay' ? 'r' : 'd');
  }
  return out;
}

async function pingMatrix(
  hosts: readonly LabHost[],
  transports: ReadonlyMap<string, string> = new Map(),
): Promise<{ text: string; allOk: boolean }> {
  const cells = await Promise.all(
    hosts.map((from) =>
      Promise.all(
        hosts.map(async (to) => {
          if (from === to) return '·';
          const result = await from.exec(['ping', '-n', '-c', '1', '-W', '1', to.address], {
            allowFail: true,
          });
          const time = /time=([\d.]+) ms/.exec(result.stdout)?.[1];
          const via = transports.get(`node-${from.name}>node-${to.name}`) ?? '?';
          return time ? `${Number(time).toFixed(1)}ms ${via}` : '✗';
        }),
      ),
    ),
  );
  const width = Math.max(12, ...hosts.map((h) => h.name.length + 1));
  const pad = (s: string) => s.padEnd(width);
  const lines = [pad('from \\ to') + hosts.map((h) => pad(h.name)).join('')];
  hosts.forEach((h, i) => {
    lines.push(pad(h.name) + cells[i]!.map(pad).join(''));
  });
  const allOk = cells.every((row) => row.every((c) => c !== '✗'));
  return { text: lines.join('\n'), allOk };
}

async function main(): Promise<number> {
  const started = Date.now();
  console.log(`bringing up the lab: control plane, STUN, ${count} hosts …`);
  const lab: Lab = await createLab({
    hosts: [...hostSpecs(count), RELAY_HOST],
    stun: true,
    controlPlane: true,
  });
  const relayHost = lab.host(RELAY_HOST.name);
  const hosts = lab.hosts.filter((h) => h !== relayHost);
  const stateDir = mkdtempSync(join(tmpdir(), 'wirekube-playground-'));
  const mesh = new MeshFixture(lab, stateDir);
  let stopping = false;
  const teardown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\ntearing down: agents, namespaces, control plane …');
    await mesh.stopAll().catch(() => undefined);
    await lab.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    console.log('done.');
    process.exit(code);
  };
  process.on('SIGINT', () => void teardown(0));
  process.on('SIGTERM', () => void teardown(0));
  try {
    // The relay proxy lives on 127.0.0.1 (real nodes have loopback up; lab hosts need it set).
    await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
    relayHost.spawn(['node', RELAY_MAIN, '--port', '3478', '--http-port', '9090']);
    await mesh.createMesh({
      relay: {
        mode: 'auto',
        provider: 'external',
        external: { endpoint: `${relayHost.address}:3478` },
        handshakeTimeoutSeconds: 10,
      },
    });
    await mesh.registerNodes(hosts);
    for (const host of hosts) mesh.startAgent(host);
    await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a, 90_000)));
    const cp = lab.controlPlane!;
    const deadline = Date.now() + Number(values['timeout-s']) * 1000;
    for (;;) {
      const [{ stdout: peers }, matrix] = await Promise.all([
        cp.kubectl(['get', 'wirekubepeers', '-o', 'wide'], { allowFail: true }),
        transportsOf(mesh).then((t) => pingMatrix(hosts, t)),
      ]);
      if (!values.once) process.stdout.write('\x1b[2J\x1b[H');
      console.log(
        `WireKube playground (lab ${lab.id}) — up ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
      console.log(peers.trimEnd());
      console.log(`\nping over mesh addresses (d: direct, r: through the relay):\n${matrix.text}\n`);
      console.log(`kubectl --kubeconfig ${cp.kubeconfigPath} get wirekubepeers -o wide`);
      console.log(
        `ip netns exec ${lab.host(lab.hosts[0]!.name).netns} wg show     # a host's view (namespaces: ${lab.hosts.map((h) => h.netns).join(' ')})`,
      );
      if (values.once && matrix.allOk) {
        console.log(`\nevery pair pings: mesh up in ${Math.round((Date.now() - started) / 1000)} s`);
        await teardown(0);
        return 0;
      }
      if (values.once && Date.now() > deadline) {
        console.error(`\nnot every pair pings after ${values['timeout-s']} s\n${mesh.logs()}`);
        await teardown(1);
        return 1;
      }
      if (!values.once) console.log('\nCtrl-C to stop and remove everything.');
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } catch (error) {
    console.error(`playground failed: ${(error as Error).message}\n${mesh.logs()}`);
    await teardown(1);
    return 1;
  }
}

void main();
