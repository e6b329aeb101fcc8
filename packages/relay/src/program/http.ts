/** /metrics, /healthz and /readyz on their own port. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Ready = listening for relay connections and not shutting down. */
  ready(): boolean;
  /** Brings the data behind ready() and the metrics up to date (a round trip to the relay thread). */
  refresh?(): Promise<void>;
}

export function createHttpServer(registry: Registry, health: HealthSource): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    await health.refresh?.();
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    await health.refresh?.().catch(() => undefined);
    if (health.ready()) return { status: 'ready' };
    reply.code(503);
    return { status: 'not ready' };
  });
  return app;
}
