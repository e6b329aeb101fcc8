// `npm run lab:cluster`: a real kube-apiserver + etcd with the WireKube CRDs installed, for manual work.
// Prints how to use it and runs until Ctrl-C (or SIGTERM), then removes everything it created.
import { createLab, type Lab } from '../index.js';
import { TOOLS_BIN } from '../tools.js';

let lab: Lab | undefined;
let stopping = false;

async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${signal}: tearing the lab down\n`);
  await lab?.destroy();
  process.exit(0);
}

process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

const began = performance.now();
lab = await createLab({ controlPlane: true, stun: true });
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
