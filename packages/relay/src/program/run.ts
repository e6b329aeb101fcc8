/**
 * The wirekube-relay program, as a function: start the relay and its HTTP endpoints, and stop them gracefully.
 * main.ts only adds argv, env, signals and the exit code. The HTTP endpoints run in a worker thread
 * (http-worker.ts) so that nothing but forwarding runs on the relay's thread.
 */
import { Worker } from 'node:worker_threads';
import { type Logger, pino } from 'pino';
import { ALL_EXTENSIONS } from '../codec/extensions.js';
import { RelayConnectionError } from '../errors.js';
import { RelayServer } from '../server/server.js';
import type { RelayProgramConfig } from './config.js';
import type { RelaySnapshot, ToMain, ToWorker } from './worker-protocol.js';

export interface RunningRelay {
  server: RelayServer;
  /** Bound relay port (useful when configured as 0). */
  port: number;
  httpPort: number;
  /** Graceful stop: readiness goes false, clients get an Error frame, sockets close, then the HTTP server. */
  stop(): Promise<void>;
}

function startHttpWorker(host: string, listenPort: number): Worker {
  // Built: dist/program/http-worker.js. From source (tests, tsx): the .ts file, loaded through tsx.
  const workerData = { host, listenPort };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./http-worker.js', import.meta.url), { workerData });
  const entry = new URL('./http-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export async function runRelay(config: RelayProgramConfig, logger?: Logger): Promise<RunningRelay> {
  const log = logger ?? pino({ level: config.logLevel, base: { component: 'wirekube-relay' } });
  const server = new RelayServer({
    requireAuth: config.requireAuth,
    extensions: config.extensions ? ALL_EXTENSIONS : [],
    maxQueueBytes: config.maxQueueBytes,
    sourcePenaltyBurst: config.sourcePenaltyBurst,
    sourcePenaltyPerSecond: config.sourcePenaltyPerSecond,
    logger: log,
  });
  let stopping = false;
  const snapshot = (): RelaySnapshot => ({
    stats: server.stats,
    connectionCount: server.connectionCount,
    registeredKeyCount: server.registeredKeyCount,
    queuedBytes: server.queuedBytes,
    maxQueuedBytes: server.maxQueuedBytes,
    ready: server.listening && !stopping,
  });

  const worker = startHttpWorker(config.httpAddress, config.httpPort);
  const httpPort = await new Promise<number>((resolve, reject) => {
    worker.on('message', (message: ToMain) => {
      if (message.type === 'listening') resolve(message.port);
      else if (message.type === 'error') {
        reject(
          new RelayConnectionError(
            message.message,
            'http listen',
            `${config.httpAddress}:${config.httpPort}`,
          ),
        );
      } else if (message.type === 'snapshot-request') {
        worker.postMessage({ type: 'snapshot', id: message.id, snapshot: snapshot() } satisfies ToWorker);
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`HTTP worker exited with code ${code}`)));
  });
  worker.on('error', (error) =>
    log.error({ event: 'http-worker-error', err: error.message }, 'HTTP worker failed'),
  );

  let address: Awaited<ReturnType<RelayServer['listen']>>;
  try {
    address = await server.listen(config.port, config.listenAddress);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  log.info(
    {
      event: 'started',
      port: address.port,
      httpPort,
      requireAuth: config.requireAuth,
      extensions: config.extensions,
    },
    'wirekube-relay started',
  );

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const grace = new Promise<void>((resolve) =>
      setTimeout(resolve, config.shutdownGraceSeconds * 1000).unref(),
    );
    await Promise.race([server.close(), grace]);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    await Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]);
    await worker.terminate();
    log.info({ event: 'stopped' }, 'wirekube-relay stopped');
  };
  return { server, port: address.port, httpPort, stop };
}
