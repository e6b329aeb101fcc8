// `npm run lab:cluster`: a real kube-apiserver + etcd with the WireKube CRDs installed, for manual work.
// Prints how to use it and runs until Ctrl-C (or SIGTERM), then removes everything it created.
//
// The npm scripts run it as one process, `exec node --import tsx`, so that Ctrl-C ends only after the teardown:
// the `tsx` command is a wrapper that relays a signal to its child and SIGKILLs the child when it does not
// acknowledge within 30 ms (a teardown busy killing processes often does not: that left the lab's CA and admin
// keys behind), and without `exec` npm's `sh -c` dies of the SIGINT at once and npm exits with it, before us.
import { createLab, type Lab } from '../index.js';
import { TOOLS_BIN } from '../tools.js';
import { onceStopped } from './stop.js';

const began = performance.now();
let starting: Promise<Lab> | undefined;

// Before createLab: from the moment it records a run, a Ctrl-C must find our handler, not the default action.
const stopper = onceStopped(async (reason) => {
  process.stderr.write(`\n${reason}: tearing the lab down\n`);
  // A lab still being created is torn down once createLab settles (it cleans up after itself when it fails).
  const lab = await starting?.catch(() => undefined);
  await lab?.destroy();
  process.stderr.write('lab removed\n');
});

starting = createLab({ controlPlane: true, stun: true });
const lab: Lab = await starting.catch((error: unknown): Promise<never> => {
  // Interrupted: the teardown started by the signal reports and exits.
  if (stopper.stopping) return new Promise<never>(() => {});
  process.stderr.write(`lab:cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  return process.exit(1);
});
const cp = lab.controlPlane!;
const seconds = (ms: number) => (ms / 1000).toFixed(1);
process.stdout.write(
  [
    `WireKube lab control plane ${lab.id} is up: kube-apiserver ready in ${seconds(cp.startMs)} s, lab in ${seconds(performance.now() - began)} s.`,
    '',
    '  From this machine (root namespace):',
    `    export KUBECONFIG=${cp.kubeconfigPath}`,
    `    export PATH=${TOOLS_BIN}:$PATH`,
    '    kubectl get wirekubepeers,wirekubemeshes,wirekubegateways',
    '',
    `  From inside a lab namespace (server ${cp.hostServer} on the lab internet):`,
    `    kubeconfig: ${cp.hostKubeconfigPath}`,
    `    namespaces of this run: ${lab.namespaces.join(' ')}`,
    '',
    `  STUN (RFC 5780) inside the lab: ${lab.stunServers.join(', ')}`,
    '',
    'Ctrl-C stops it and removes every namespace and process it created.',
    '',
  ].join('\n'),
);
setInterval(() => {}, 1 << 30);
