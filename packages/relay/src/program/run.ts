/**
 * The wirekube-relay program, as a function: start the relay and its HTTP endpoints, and stop them gracefully.
 * main.ts only adds argv, env, signals and the exit code.
 */
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { ALL_EXTENSIONS } from '../codec/extensions.js';
import { RelayServer } from '../server/server.js';
import type { RelayProgramConfig } from './config.js';
import { createHttpServer } from './http.js';
import { createRelayMetrics } from './metrics.js';

export interface RunningRelay {
  server: RelayServer;
  http: FastifyInstance;
  /** Bound relay port (useful when configured as 0). */
  port: number;
  httpPort: number;
  /** Graceful stop: readiness goes false, clients get an Error frame, sockets close, then the HTTP server. */
  stop(): Promise<void>;
}

export async function runRelay(config: RelayProgramConfig, logger?: Logger): Promise<RunningRelay> {
  const log = logger ?? pino({ level: config.logLevel, base: { component: 'wirekube-relay' } });
  const server = new RelayServer({
    requireAuth: config.requireAuth,
    extensions: config.extensions ? ALL_EXTENSIONS : [],
    maxQueueBytes: config.maxQueueBytes,
    logger: log,
  });
  let stopping = false;
  const http = createHttpServer(createRelayMetrics(server), { ready: () => server.listening && !stopping });
  await http.listen({ host: config.httpAddress, port: config.httpPort });
  const httpAddress = http.server.address();
  const httpPort = typeof httpAddress === 'object' && httpAddress ? httpAddress.port : config.httpPort;
  const address = await server.listen(config.port, config.listenAddress);
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
    await http.close();
    log.info({ event: 'stopped' }, 'wirekube-relay stopped');
  };
  return { server, http, port: address.port, httpPort, stop };
}
