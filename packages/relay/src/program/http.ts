/** /metrics, /healthz and /readyz on their own port. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Ready = listening for relay connections and not shutting down. */
  ready(): boolean;
}

export function createHttpServer(registry: Registry, health: HealthSource): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (health.ready()) return { status: 'ready' };
    reply.code(503);
    return { status: 'not ready' };
  });
  return app;
}
