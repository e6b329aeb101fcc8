import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** The process can do its job at all (event loop turning, not shutting down). */
  live(): boolean;
  /** Informers synced and at least one reconcile applied: the node is in the mesh. */
  ready(): { ready: boolean; reason?: string };
}

/** /metrics, /healthz and /readyz: what a DaemonSet's probes and a Prometheus scrape need, nothing more. */
export function createHttpServer(registry: Registry, health: HealthSource): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/healthz', async (_request, reply) => {
    const live = health.live();
    reply.code(live ? 200 : 503);
    return live ? 'ok\n' : 'shutting down\n';
  });
  app.get('/readyz', async (_request, reply) => {
    const { ready, reason } = health.ready();
    reply.code(ready ? 200 : 503);
    return ready ? 'ok\n' : `not ready: ${reason ?? 'starting'}\n`;
  });
  return app;
}
