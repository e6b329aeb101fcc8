import { parseArgs } from 'node:util';
import { ENDPOINT_DISCOVERY_METHODS, type EndpointDiscoveryMethod, KEY_DIR } from '@wirekube/crd-types';
import { errorMessage } from '../errors.js';
import { parseAddressList } from '../plan/protect.js';

/**
 * Default precedence (issue 6): an operator's explicit annotation first, then a global IPv6 (no NAT to cross),
 * then what the internet reports (STUN), cloud metadata, a UPnP mapping, and the node's own address last.
 */
export const DEFAULT_ENDPOINT_PRECEDENCE: readonly EndpointDiscoveryMethod[] = [
  'annotation',
  'ipv6',
  'stun',
  'aws-imds',
  'upnp',
  'internal',
];

export type BackendChoice = 'auto' | 'kernel' | 'userspace';

/** Where the node's relay connection lives (CONTRACTS: the relay link process). */
export type RelayLinkMode = 'spawn' | 'external' | 'in-process';
export const RELAY_LINK_MODES: readonly RelayLinkMode[] = ['spawn', 'external', 'in-process'];
export const DEFAULT_RELAY_LINK_SOCKET = '/run/wirekube/relay-link.sock';

export interface AgentOptions {
  command: 'run' | 'cleanup' | 'relay-link';
  nodeName: string;
  kubeconfig?: string;
  keyDir: string;
  meshName: string;
  metricsAddress: string;
  metricsPort: number;
  procRoot: string;
  backend: BackendChoice;
  wireguardGo: string;
  endpointMethods: EndpointDiscoveryMethod[];
  initAllowedIPs: boolean;
  logLevel: string;
  interfaceName?: string;
  reconcileIntervalMs: number;
  /** Looked up in the main table ahead of the tunnel, besides the kubeconfig host and EndpointSlices. */
  apiServerAddresses: string[];
  endpointRecheckIntervalMs: number;
  /** Seconds, for the own WireKubePeer when its CR has no value (a value in the CR is the user's). */
  persistentKeepalive: number;
  /** Where the managed relay Service and gateway health Leases live. */
  namespace: string;
  relayService: string;
  relayLink: RelayLinkMode;
  /** The relay-link's unix socket (`relay-link --socket`, the agent's `--relay-link-socket`). */
  relayLinkSocket: string;
  /** Where a relay-link the agent starts writes its log (appended); default: discarded. */
  relayLinkLog?: string;
}

/** A bad flag or environment value, named, so the pod's log says exactly what to fix. */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

/** `--help`: not a mistake, so main prints the usage to stdout and exits 0 (kubectl and helm do the same). */
export class HelpRequested extends Error {
  constructor() {
    super(USAGE);
    this.name = 'HelpRequested';
  }
}

export const USAGE = `wirekube-agent [run|cleanup|relay-link] [options]

  run (default)            join this node to the mesh and keep it in sync
  cleanup                  remove WireKube's interface, routes, rules, iptables rules and keys from this node,
                           and stop the relay-link
  relay-link               hold this node's relay connection and WireGuard's loopback proxy, driven by the agent
                           over a unix socket; outlives agent restarts (no credentials, no capabilities needed)

options (flag, or environment variable):
  --node-name NAME         NODE_NAME                  this node's name (required for run)
  --kubeconfig PATH        KUBECONFIG                 default: in-cluster service account
  --key-dir DIR            WIREKUBE_KEY_DIR           default: ${KEY_DIR}
  --mesh NAME              WIREKUBE_MESH              default: default
  --metrics-address ADDR   WIREKUBE_METRICS_ADDRESS   default: 0.0.0.0
  --metrics-port PORT      WIREKUBE_METRICS_PORT      default: 9543 (0: no HTTP server)
  --proc-root DIR          WIREKUBE_PROC_ROOT         where the host's /proc is mounted; default: /proc
  --backend KIND           WIREKUBE_BACKEND           auto | kernel | userspace; default: auto
  --wireguard-go PATH      WIREKUBE_WIREGUARD_GO      userspace implementation; default: wireguard-go;
                                                      none: do not spawn, adopt the one whose socket appears
  --endpoint-methods LIST  WIREKUBE_ENDPOINT_METHODS  precedence; default: ${DEFAULT_ENDPOINT_PRECEDENCE.join(',')}
  --no-init-allowed-ips    WIREKUBE_INIT_ALLOWED_IPS=false   do not seed allowedIPs with the node's InternalIP/32
  --api-server-address LIST  WIREKUBE_API_SERVER_ADDRESS  API server IPs (or IP:port), comma-separated, kept off
                           the tunnel (besides the kubeconfig host and the kubernetes EndpointSlices)
  --endpoint-recheck-interval-ms MS  WIREKUBE_ENDPOINT_RECHECK_INTERVAL_MS  NAT type and endpoint re-check;
                           default: 300000
  --persistent-keepalive S WIREKUBE_PERSISTENT_KEEPALIVE     own WireKubePeer's keepalive when its CR has none; default: 25
  --interface NAME         WIREKUBE_INTERFACE         cleanup only: interface to delete; default: wire_kube
  --log-level LEVEL        LOG_LEVEL                  default: info
  --namespace NS           POD_NAMESPACE              managed relay Service, gateway health Leases; default: wirekube-system
  --relay-service NAME     WIREKUBE_RELAY_SERVICE     managed relay Service in --namespace; default: wirekube-relay
  --relay-link MODE        WIREKUBE_RELAY_LINK        spawn | external | in-process; default: spawn (connect to the
                           relay-link, start it detached when none answers); external: connect only (its own
                           DaemonSet); in-process: the relay connection inside the agent
  --relay-link-socket PATH WIREKUBE_RELAY_LINK_SOCKET the relay-link's socket; default: ${DEFAULT_RELAY_LINK_SOCKET}
  --socket PATH            WIREKUBE_RELAY_LINK_SOCKET relay-link only: the socket to serve; same default
  --relay-link-log PATH    WIREKUBE_RELAY_LINK_LOG    spawn mode: append the started relay-link's log here
  (env only)               WIREKUBE_RELAY_LINK_BINARY spawn mode: which relay-link to start; default: the Go one the
                           package ships (native/bin/wirekube-relay-link), else this program's; a path: that
                           binary; node: this program's \`relay-link\` (the Node one)
`;

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): AgentOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'node-name': { type: 'string' },
      kubeconfig: { type: 'string' },
      'key-dir': { type: 'string' },
      mesh: { type: 'string' },
      'metrics-address': { type: 'string' },
      'metrics-port': { type: 'string' },
      'proc-root': { type: 'string' },
      backend: { type: 'string' },
      'wireguard-go': { type: 'string' },
      'endpoint-methods': { type: 'string' },
      'no-init-allowed-ips': { type: 'boolean' },
      interface: { type: 'string' },
      'log-level': { type: 'string' },
      'reconcile-interval-ms': { type: 'string' },
      'api-server-address': { type: 'string' },
      'endpoint-recheck-interval-ms': { type: 'string' },
      'persistent-keepalive': { type: 'string' },
      namespace: { type: 'string' },
      'relay-service': { type: 'string' },
      'relay-link': { type: 'string' },
      'relay-link-socket': { type: 'string' },
      'relay-link-log': { type: 'string' },
      socket: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new HelpRequested();
  const command = positionals[0] ?? 'run';
  if (command !== 'run' && command !== 'cleanup' && command !== 'relay-link')
    throw new OptionsError(`unknown command "${command}"\n\n${USAGE}`);
  const nodeName = values['node-name'] ?? env['NODE_NAME'] ?? '';
  if (command === 'run' && !nodeName) throw new OptionsError('--node-name (or NODE_NAME) is required');
  const backend = (values.backend ?? env['WIREKUBE_BACKEND'] ?? 'auto') as BackendChoice;
  if (!['auto', 'kernel', 'userspace'].includes(backend)) {
    throw new OptionsError(`--backend must be auto, kernel or userspace, got "${backend}"`);
  }
  const methodsText =
    values['endpoint-methods'] ?? env['WIREKUBE_ENDPOINT_METHODS'] ?? DEFAULT_ENDPOINT_PRECEDENCE.join(',');
  const endpointMethods = methodsText
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of endpointMethods) {
    if (!(ENDPOINT_DISCOVERY_METHODS as readonly string[]).includes(m)) {
      throw new OptionsError(
        `--endpoint-methods: unknown method "${m}" (known: ${ENDPOINT_DISCOVERY_METHODS.join(', ')})`,
      );
    }
  }
  const port = Number(values['metrics-port'] ?? env['WIREKUBE_METRICS_PORT'] ?? 9543);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new OptionsError(`--metrics-port must be 0..65535, got "${port}"`);
  const interval = Number(values['reconcile-interval-ms'] ?? env['WIREKUBE_RECONCILE_INTERVAL_MS'] ?? 5000);
  if (!Number.isFinite(interval) || interval < 100)
    throw new OptionsError('--reconcile-interval-ms must be at least 100');
  const recheck = Number(
    values['endpoint-recheck-interval-ms'] ?? env['WIREKUBE_ENDPOINT_RECHECK_INTERVAL_MS'] ?? 300_000,
  );
  if (!Number.isFinite(recheck) || recheck < 1000)
    throw new OptionsError('--endpoint-recheck-interval-ms must be at least 1000');
  let apiServerAddresses: string[];
  try {
    apiServerAddresses = parseAddressList(
      values['api-server-address'] ?? env['WIREKUBE_API_SERVER_ADDRESS'] ?? '',
      values['api-server-address'] !== undefined ? '--api-server-address' : 'WIREKUBE_API_SERVER_ADDRESS',
    );
  } catch (error) {
    throw new OptionsError(errorMessage(error));
  }
  const keepaliveText = values['persistent-keepalive'] ?? env['WIREKUBE_PERSISTENT_KEEPALIVE'] ?? '25';
  const persistentKeepalive = Number(keepaliveText);
  // WireGuard's field is a 16-bit number of seconds; 0 turns keepalives off.
  if (!/^\d+$/.test(keepaliveText.trim()) || persistentKeepalive > 65535)
    throw new OptionsError(`--persistent-keepalive must be 0..65535 seconds, got "${keepaliveText}"`);
  const relayLink = (values['relay-link'] ?? env['WIREKUBE_RELAY_LINK'] ?? 'spawn') as RelayLinkMode;
  if (!RELAY_LINK_MODES.includes(relayLink))
    throw new OptionsError(`--relay-link must be ${RELAY_LINK_MODES.join(', ')}, got "${relayLink}"`);
  const relayLinkSocket =
    (command === 'relay-link' ? values.socket : values['relay-link-socket']) ??
    env['WIREKUBE_RELAY_LINK_SOCKET'] ??
    DEFAULT_RELAY_LINK_SOCKET;
  if (!relayLinkSocket.startsWith('/'))
    throw new OptionsError(`--relay-link-socket must be an absolute path, got "${relayLinkSocket}"`);
  const options: AgentOptions = {
    command,
    nodeName,
    keyDir: values['key-dir'] ?? env['WIREKUBE_KEY_DIR'] ?? KEY_DIR,
    meshName: values.mesh ?? env['WIREKUBE_MESH'] ?? 'default',
    metricsAddress: values['metrics-address'] ?? env['WIREKUBE_METRICS_ADDRESS'] ?? '0.0.0.0',
    metricsPort: port,
    procRoot: values['proc-root'] ?? env['WIREKUBE_PROC_ROOT'] ?? '/proc',
    backend,
    wireguardGo: values['wireguard-go'] ?? env['WIREKUBE_WIREGUARD_GO'] ?? 'wireguard-go',
    endpointMethods: endpointMethods as EndpointDiscoveryMethod[],
    initAllowedIPs: !(values['no-init-allowed-ips'] || env['WIREKUBE_INIT_ALLOWED_IPS'] === 'false'),
    logLevel: values['log-level'] ?? env['LOG_LEVEL'] ?? 'info',
    reconcileIntervalMs: interval,
    apiServerAddresses,
    endpointRecheckIntervalMs: recheck,
    persistentKeepalive,
    namespace: values.namespace || env['POD_NAMESPACE'] || 'wirekube-system',
    relayService: values['relay-service'] || env['WIREKUBE_RELAY_SERVICE'] || 'wirekube-relay',
    relayLink,
    relayLinkSocket,
  };
  const relayLinkLog = values['relay-link-log'] ?? env['WIREKUBE_RELAY_LINK_LOG'];
  if (relayLinkLog) options.relayLinkLog = relayLinkLog;
  const kubeconfig = values.kubeconfig ?? env['KUBECONFIG'];
  if (kubeconfig) options.kubeconfig = kubeconfig;
  const iface = values.interface ?? env['WIREKUBE_INTERFACE'];
  if (iface) options.interfaceName = iface;
  return options;
}
