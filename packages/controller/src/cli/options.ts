import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_MESH_NAME } from '@wirekube/crd-types';

export interface ControllerOptions {
  kubeconfig?: string;
  namespace: string;
  leaseName: string;
  identity: string;
  meshName: string;
  metricsAddress: string;
  metricsPort: number;
  logLevel: string;
}

export type ParsedCommand = { kind: 'help' } | { kind: 'run'; options: ControllerOptions };

/** A bad flag or environment value, named, so the pod's log says exactly what to fix. */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

export const USAGE = `wirekube-controller [options]

The cluster-wide WireKube controller: gateway election and status, mesh status, peer garbage collection.
Leader-elected: run two replicas, one is active.

options (flag, or environment variable):
  --kubeconfig PATH       KUBECONFIG             default: in-cluster service account
  --namespace NS          POD_NAMESPACE          leader Lease and gateway health Leases; default: wirekube-system
  --lease-name NAME       WIREKUBE_LEASE_NAME    leader election Lease; default: wirekube-controller
  --identity ID           POD_NAME               name in the leader Lease; default: the hostname
  --mesh NAME             WIREKUBE_MESH          the WireKubeMesh whose status is kept; default: ${DEFAULT_MESH_NAME}
  --metrics-address ADDR  WIREKUBE_METRICS_ADDRESS  default: 0.0.0.0
  --metrics-port PORT     WIREKUBE_METRICS_PORT  /metrics, /healthz, /readyz; default: 9544 (0: no HTTP server)
  --log-level LEVEL       LOG_LEVEL              trace|debug|info|warn|error; default: info
  --help                                         this text
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'lease-name': { type: 'string' },
        identity: { type: 'string' },
        mesh: { type: 'string' },
        'metrics-address': { type: 'string' },
        'metrics-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values['help']) return { kind: 'help' };
  const pick = (flag: string, variable: string, fallback: string): string => {
    const value = (values[flag] as string | undefined) ?? env[variable];
    return value === undefined || value === '' ? fallback : value;
  };
  const portText = pick('metrics-port', 'WIREKUBE_METRICS_PORT', '9544');
  const metricsPort = Number(portText);
  if (!/^\d+$/.test(portText) || metricsPort > 65535) {
    throw new OptionsError(`--metrics-port: ${JSON.stringify(portText)} is not a port number (0-65535)`);
  }
  const logLevel = pick('log-level', 'LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new OptionsError(`--log-level: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const name = (flag: string, variable: string, fallback: string): string => {
    const value = pick(flag, variable, fallback);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value) || value.length > 253) {
      throw new OptionsError(`--${flag}: ${JSON.stringify(value)} is not a valid Kubernetes name`);
    }
    return value;
  };
  const options: ControllerOptions = {
    namespace: name('namespace', 'POD_NAMESPACE', 'wirekube-system'),
    leaseName: name('lease-name', 'WIREKUBE_LEASE_NAME', 'wirekube-controller'),
    identity: pick('identity', 'POD_NAME', hostname()),
    meshName: name('mesh', 'WIREKUBE_MESH', DEFAULT_MESH_NAME),
    metricsAddress: pick('metrics-address', 'WIREKUBE_METRICS_ADDRESS', '0.0.0.0'),
    metricsPort,
    logLevel,
  };
  const kubeconfig = pick('kubeconfig', 'KUBECONFIG', '');
  if (kubeconfig) options.kubeconfig = kubeconfig;
  return { kind: 'run', options };
}
