import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** The process is alive and its loops are not wedged. */
  healthy(): boolean;
  /** A standby is ready once it campaigns; a leader once its caches are synced. */
  ready(): boolean;
}

/** `/metrics`, `/healthz`, `/readyz` on one small server. */
export async function startHttpServer(options: {
  address: string;
  port: number;
  registry: Registry;
  health: HealthSource;
}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    reply.header('Content-Type', options.registry.contentType);
    return options.registry.metrics();
  });
  app.get('/healthz', async (_request, reply) => {
    const ok = options.health.healthy();
    return reply.code(ok ? 200 : 503).send(ok ? 'ok\n' : 'unhealthy\n');
  });
  app.get('/readyz', async (_request, reply) => {
    const ok = options.health.ready();
    return reply.code(ok ? 200 : 503).send(ok ? 'ok\n' : 'not ready\n');
  });
  await app.listen({ host: options.address, port: options.port });
  return app;
}
