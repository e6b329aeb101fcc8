// `npm run playground`: a simulated multi-network cluster with the mesh running on it. The lab's control plane,
// N hosts (default 4: a public host, two behind cone NATs, one in the same LAN as another), an agent in each,
// and a live view: `kubectl get wirekubepeers -o wide` and a ping matrix over the mesh addresses. Ctrl-C tears
// everything down. Options: playground-usage.txt (also what `--help` prints).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { HostSpec, Lab, LabHost } from '../index.js';
import type { MeshFixture } from '../mesh/fixture.js';
import { relayCommand } from '../relay-program.js';
import { pingMatrix } from './ping-matrix.js';
import { progress } from './progress.js';
import { onceStopped } from './stop.js';

const USAGE = readFileSync(new URL('./playground-usage.txt', import.meta.url), 'utf8');
/** The wrapper that runs `wg` with a host's private /run/wireguard. */
const LAB_WG = fileURLToPath(new URL('../../bin/lab-wg', import.meta.url));

function options() {
  try {
    return parseArgs({
      options: {
        hosts: { type: 'string', default: '4' },
        kubernetes: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        'timeout-s': { type: 'string', default: '120' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`playground: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const values = options();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const count = Number(values.hosts);
if (!Number.isInteger(count) || count < 2 || count > 12) {
  process.stderr.write(`playground: --hosts must be an integer from 2 to 12, got ${values.hosts}\n`);
  process.exit(2);
}
if (values.kubernetes && process.argv.some((arg) => arg === '--hosts' || arg.startsWith('--hosts='))) {
  process.stderr.write('playground: --kubernetes runs its own four nodes; --hosts does not apply\n');
  process.exit(2);
}
const timeoutS = Number(values['timeout-s']);
if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
  process.stderr.write(`playground: --timeout-s must be a positive number, got ${values['timeout-s']}\n`);
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

/** How to run `wg show` in a host, relative to where the user stands when it is shorter. */
function wgCommand(host: LabHost): string {
  const path = relative(process.cwd(), LAB_WG);
  const shown = path.length < LAB_WG.length && !path.startsWith('..') ? path : LAB_WG;
  return `${shown.includes('/') ? shown : `./${shown}`} ${host.netns}`;
}

const started = Date.now();
const say = (line: string) => console.log(`[playground] ${line}`);
const steps = progress(say);
let lab: Lab | undefined;
let mesh: MeshFixture | undefined;
let stateDir: string | undefined;
let creating: Promise<Lab> | undefined;

async function teardown(): Promise<void> {
  console.log('\ntearing down: agents, namespaces, control plane …');
  // A lab still being created is removed once createLab settles (it cleans up after itself when it fails).
  lab ??= await creating?.catch(() => undefined);
  await mesh?.stopAll().catch(() => undefined);
  await lab?.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  console.log('done.');
}

const stopper = onceStopped(teardown);

async function main(): Promise<number> {
  if (values.kubernetes) {
    stateDir = mkdtempSync(join(tmpdir(), 'wirekube-playground-'));
    const { kubernetesPlayground } = await import('./playground-kubernetes.js');
    return kubernetesPlayground({
      steps,
      once: values.once,
      timeoutS,
      started,
      stateDir,
      creating: (promise) => {
        creating = promise;
        void promise.then(
          (created) => {
            lab = created;
          },
          () => undefined,
        );
      },
    });
  }
  // The lab library (and the Kubernetes client under it) takes seconds to load on a busy machine: say so first.
  const [{ createLab }, { MeshFixture }] = await steps.step('loading the lab library', () =>
    Promise.all([import('../index.js'), import('../mesh/fixture.js')]),
  );
  creating = steps.step(`bringing up the lab: control plane, STUN, relay, ${count} hosts`, () =>
    createLab({ hosts: [...hostSpecs(count), RELAY_HOST], stun: true, controlPlane: true }),
  );
  lab = await creating;
  const relayHost = lab.host(RELAY_HOST.name);
  const hosts = lab.hosts.filter((h) => h !== relayHost);
  stateDir = mkdtempSync(join(tmpdir(), 'wirekube-playground-'));
  const fixture = new MeshFixture(lab, stateDir);
  mesh = fixture;
  try {
    await steps.step('starting the relay, creating the WireKubeMesh and the Nodes', async () => {
      // The relay proxy lives on 127.0.0.1 (real nodes have loopback up; lab hosts need it set).
      await Promise.all(lab!.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
      relayHost.spawn(relayCommand(['--port', '3478', '--http-port', '9090']));
      await fixture.createMesh({
        relay: {
          mode: 'auto',
          provider: 'external',
          external: { endpoint: `${relayHost.address}:3478` },
          handshakeTimeoutSeconds: 10,
        },
      });
      await fixture.registerNodes(hosts);
    });
    await steps.step(`starting ${hosts.length} agents`, async () => {
      for (const host of hosts) fixture.startAgent(host);
      await Promise.all([...fixture.agents.values()].map((a) => fixture.waitStarted(a, 90_000)));
    });
    const cp = lab.controlPlane!;
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const [{ stdout: peers }, matrix] = await Promise.all([
        cp.kubectl(['get', 'wirekubepeers', '-o', 'wide'], { allowFail: true }),
        transportsOf(fixture).then((t) => pingMatrix(hosts, t)),
      ]);
      if (!values.once) process.stdout.write('\x1b[2J\x1b[H');
      console.log(
        `WireKube playground (lab ${lab.id}) — up ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
      console.log(peers.trimEnd());
      console.log(`\nping over mesh addresses (d: direct, r: through the relay):\n${matrix.text}\n`);
      console.log(`kubectl --kubeconfig ${cp.kubeconfigPath} get wirekubepeers -o wide`);
      console.log(
        `${wgCommand(hosts[0]!)}     # wg show in a host (namespaces: ${hosts.map((h) => h.netns).join(' ')})`,
      );
      if (values.once && matrix.allOk) {
        console.log(`\nevery pair pings: mesh up in ${Math.round((Date.now() - started) / 1000)} s`);
        return 0;
      }
      if (values.once && Date.now() > deadline) {
        console.error(`\nnot every pair pings after ${timeoutS} s\n${fixture.logs()}`);
        return 1;
      }
      if (!values.once) console.log('\nCtrl-C to stop and remove everything.');
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } catch (error) {
    console.error(`playground failed: ${(error as Error).message}\n${fixture.logs()}`);
    return 1;
  }
}

main().then(
  (code) => stopper.stop(code, 'finished'),
  (error: unknown) => {
    // Interrupted mid-setup: the teardown started by the signal reports and exits.
    if (stopper.stopping) return;
    console.error(`playground failed: ${error instanceof Error ? error.message : String(error)}`);
    stopper.stop(1, 'failed');
  },
);
