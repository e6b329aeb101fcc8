#!/usr/bin/env node
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '@wirekube/kube-runtime';
import pino from 'pino';
import { OptionsError, parseOptions, USAGE } from './cli/options.js';
import { Controller } from './controller.js';
import { startHttpServer } from './http/server.js';
import { ControllerCluster } from './kube/cluster.js';
import { ControllerMetrics } from './metrics/metrics.js';

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    process.stderr.write(`wirekube-controller: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = parsed.options;
  const log = pino({
    level: options.logLevel,
    base: { component: 'wirekube-controller', identity: options.identity },
  });
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();

  const metrics = new ControllerMetrics();
  let controller: Controller | undefined;
  const cluster = new ControllerCluster(kc, {
    namespace: options.namespace,
    identity: options.identity,
    log,
    onChange: (what) => controller?.trigger(what),
  });
  controller = new Controller(
    { meshName: options.meshName, identity: options.identity },
    { cache: cluster, writer: cluster, leaderLease: cluster.leaderLease(options.leaseName), metrics, log },
  );
  const http =
    options.metricsPort > 0
      ? await startHttpServer({
          address: options.metricsAddress,
          port: options.metricsPort,
          registry: metrics.registry,
          health: controller,
        })
      : undefined;
  await cluster.start();
  controller.start();
  log.info(
    {
      event: 'controller-started',
      namespace: options.namespace,
      lease: options.leaseName,
      mesh: options.meshName,
    },
    'controller started',
  );

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ event: 'controller-stopping', signal }, 'shutting down');
  await controller.stop();
  await cluster.stop();
  await http?.close();
  log.info({ event: 'controller-stopped' }, 'stopped, lease released');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: 50, event: 'controller-failed', err: errorMessage(error), msg: 'controller failed' })}\n`,
    );
    process.exit(1);
  },
);
