#!/usr/bin/env node
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { cleanupNode } from './cleanup/cleanup.js';
import { HelpRequested, OptionsError, parseOptions } from './cli/options.js';
import { Agent } from './daemon/agent.js';
import { NetlinkDataplane } from './dataplane/netlink.js';
import { endpointSources } from './endpoint/sources/index.js';
import { errorMessage } from './errors.js';
import { kubeGatewayFeature } from './gateway/kube.js';
import { createHttpServer } from './http/server.js';
import { fileKeySource } from './keys/store.js';
import { KubeAgentApi } from './kube/api.js';
import { ApiServerEndpoints, apiServerSliceInformer } from './kube/api-server-endpoints.js';
import { AgentMetrics } from './metrics/metrics.js';
import { RelayConnection, type RelayLink } from './relay/connection.js';
import { KubeRelayServiceReader } from './relay/services.js';
import { runRelayLink } from './relay-link/process.js';
import { RemoteRelayLink } from './relay-link/remote.js';
import { relayLinkSpawner } from './relay-link/spawn.js';
import { queryStunServers } from './stun/binding.js';

/** The API server's addresses: never to be routed into the tunnel the agent needs the API server to build. */
async function apiServerAddresses(kc: KubeConfig, log: Logger): Promise<string[]> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return [];
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return [host];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch (error) {
    log.warn(
      { event: 'apiserver-resolve-failed', host, err: errorMessage(error) },
      'cannot resolve the API server host',
    );
    return [];
  }
}

/** The node's relay side as `--relay-link` says: in the relay-link process (spawned or external), or in here. */
function relayLinkFor(
  options: ReturnType<typeof parseOptions>,
  keys: { publicKey: string; privateKey: string },
  log: Logger,
): RelayLink {
  if (options.relayLink === 'in-process') return new RelayConnection({ ...keys, log });
  return new RemoteRelayLink({
    socketPath: options.relayLinkSocket,
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    log,
    ...(options.relayLink === 'spawn'
      ? {
          spawn: relayLinkSpawner({
            socketPath: options.relayLinkSocket,
            logLevel: options.logLevel,
            log,
            ...(options.relayLinkLog ? { logPath: options.relayLinkLog } : {}),
          }),
        }
      : {}),
  });
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(error.message);
      return 0;
    }
    if (error instanceof OptionsError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${errorMessage(error)}\n`);
      return 2;
    }
    throw error;
  }
  if (options.command === 'relay-link') {
    const linkLog = pino({ level: options.logLevel, base: { component: 'wirekube-relay-link' } });
    return runRelayLink({ socketPath: options.relayLinkSocket, log: linkLog });
  }
  const log = pino({
    level: options.logLevel,
    base: { component: 'wirekube-agent', node: options.nodeName },
  });

  if (options.command === 'cleanup') {
    await cleanupNode({
      interfaceName: options.interfaceName ?? 'wire_kube',
      keyDir: options.keyDir,
      backend: options.backend,
      relayLinkSocket: options.relayLinkSocket,
      logger: log,
    });
    return 0;
  }

  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();
  const metrics = new AgentMetrics();
  const dataplane = await NetlinkDataplane.open({
    backend: options.backend,
    procRoot: options.procRoot,
    wireguardGo: options.wireguardGo,
    logger: log,
  });
  // The API server's real addresses (in-cluster the kubeconfig names only the ClusterIP), kept on the main table.
  const apiServerEndpoints = new ApiServerEndpoints({
    informer: apiServerSliceInformer(kc),
    log,
    onChange: () => void agent.reconcileNow(),
  });
  const agent = new Agent(
    {
      nodeName: options.nodeName,
      meshName: options.meshName,
      reconcileIntervalMs: options.reconcileIntervalMs,
      natRecheckIntervalMs: options.endpointRecheckIntervalMs,
      persistentKeepalive: options.persistentKeepalive,
      initAllowedIPs: options.initAllowedIPs,
      protectedAddresses: [...(await apiServerAddresses(kc, log)), ...options.apiServerAddresses],
      relayService: { namespace: options.namespace, name: options.relayService },
    },
    {
      kube: new KubeAgentApi(kc, { name: 'wirekube-agent', host: options.nodeName }, log),
      dataplane,
      stun: queryStunServers,
      endpointSources: endpointSources(options.endpointMethods),
      keys: fileKeySource(options.keyDir),
      log,
      metrics,
      protectedSources: [apiServerEndpoints],
      gateways: kubeGatewayFeature(kc, {
        nodeName: options.nodeName,
        namespace: options.namespace,
        log,
        registry: metrics.registry,
      }),
      relayServices: new KubeRelayServiceReader(kc),
      relayLink: (keys, linkLog) => relayLinkFor(options, keys, linkLog),
    },
  );
  apiServerEndpoints.start();
  const http = options.metricsPort > 0 ? createHttpServer(metrics.registry, agent) : undefined;
  if (http) {
    await http.listen({ host: options.metricsAddress, port: options.metricsPort });
    log.info(
      { event: 'http-listening', address: options.metricsAddress, port: options.metricsPort },
      'serving /metrics, /healthz, /readyz',
    );
  }

  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'shutdown', signal }, 'shutting down; the data plane stays up');
      await agent.stop();
      await apiServerEndpoints.stop();
      await http?.close();
      await dataplane.close();
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
  await agent.start();
  return stopped;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: 60, event: 'fatal', msg: 'fatal', err: error instanceof Error ? (error.stack ?? error.message) : errorMessage(error) })}\n`,
    );
    process.exit(1);
  },
);
