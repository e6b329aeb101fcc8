/**
 * The HTTP side of wirekube-relay (/metrics, /healthz, /readyz with fastify and prom-client), run in a worker
 * thread. Measured: a fastify instance in the forwarding thread's isolate doubles the relay's CPU per forwarded
 * byte (≈ 100 mark-compact GCs per GB instead of ≈ 2), so the forwarding thread runs nothing but forwarding.
 * On each scrape or readiness probe the worker asks the relay thread for a snapshot of its counters.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { emptyStats } from '../server/stats.js';
import { createHttpServer } from './http.js';
import { createRelayMetrics, type RelayMetricsSource } from './metrics.js';
import type { RelaySnapshot, ToMain, ToWorker } from './worker-protocol.js';

const port = parentPort!;
const { host, listenPort } = workerData as { host: string; listenPort: number };

let snapshot: RelaySnapshot = {
  stats: emptyStats(),
  connectionCount: 0,
  registeredKeyCount: 0,
  queuedBytes: 0,
  maxQueuedBytes: 0,
  ready: false,
};
const source: RelayMetricsSource = {
  get stats() {
    return snapshot.stats;
  },
  get connectionCount() {
    return snapshot.connectionCount;
  },
  get registeredKeyCount() {
    return snapshot.registeredKeyCount;
  },
  get queuedBytes() {
    return snapshot.queuedBytes;
  },
  get maxQueuedBytes() {
    return snapshot.maxQueuedBytes;
  },
};

let nextId = 1;
const waiting = new Map<number, () => void>();
port.on('message', (message: ToWorker) => {
  if (message.type === 'snapshot') {
    snapshot = message.snapshot;
    waiting.get(message.id)?.();
    waiting.delete(message.id);
  } else if (message.type === 'close') {
    void app.close().then(() => port.close());
  }
});

function refresh(): Promise<void> {
  const id = nextId++;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('relay thread did not answer within 2 s'));
    }, 2_000);
    waiting.set(id, () => {
      clearTimeout(timer);
      resolve();
    });
    port.postMessage({ type: 'snapshot-request', id } satisfies ToMain);
  });
}

const app = createHttpServer(createRelayMetrics(source), { ready: () => snapshot.ready, refresh });
try {
  await app.listen({ host, port: listenPort });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : listenPort;
  port.postMessage({ type: 'listening', port: bound } satisfies ToMain);
} catch (error) {
  port.postMessage({ type: 'error', message: (error as Error).message } satisfies ToMain);
}
