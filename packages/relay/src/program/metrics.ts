/**
 * The relay's Prometheus metrics: one Registry per process (never prom-client's global), values collected from
 * the server's plain counters at scrape time so the forwarding path does no metric work.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DROP_REASONS, type RelayStats } from '../server/stats.js';

/** What the metrics read: a RelayServer, or a snapshot of one sent from the forwarding thread. */
export interface RelayMetricsSource {
  readonly stats: RelayStats;
  readonly connectionCount: number;
  readonly registeredKeyCount: number;
  readonly queuedBytes: number;
  readonly maxQueuedBytes: number;
}

export function createRelayMetrics(server: RelayMetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wirekube_relay_process_' });
  // Read through the source on every scrape: a snapshot source replaces its stats object.
  const stats = new Proxy({} as RelayStats, { get: (_target, key: keyof RelayStats) => server.stats[key] });

  new Gauge({
    name: 'wirekube_relay_connections',
    help: 'Open client connections.',
    registers: [registry],
    collect() {
      this.set(server.connectionCount);
    },
  });
  new Counter({
    name: 'wirekube_relay_connections_accepted_total',
    help: 'Client connections accepted.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.connectionsAccepted);
    },
  });
  new Counter({
    name: 'wirekube_relay_connections_penalized_total',
    help: 'Connections refused as they arrived because their source address kept breaking the protocol (source penalty).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.connectionsPenalized);
    },
  });
  new Gauge({
    name: 'wirekube_relay_registered_keys',
    help: 'Public keys currently routed.',
    registers: [registry],
    collect() {
      this.set(server.registeredKeyCount);
    },
  });
  new Counter({
    name: 'wirekube_relay_frames_forwarded_total',
    help: 'Data frames forwarded to a destination connection.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.framesForwarded);
    },
  });
  new Counter({
    name: 'wirekube_relay_bytes_forwarded_total',
    help: 'Bytes of Data frames (headers included) forwarded.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.bytesForwarded);
    },
  });
  new Counter({
    name: 'wirekube_relay_control_forwarded_total',
    help: 'Control frames (agent-to-agent messages) delivered to a destination connection.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.controlForwarded);
    },
  });
  new Counter({
    name: 'wirekube_relay_dropped_frames_total',
    help: 'Data and Control frames dropped, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of DROP_REASONS) this.inc({ reason }, stats.drops[reason]);
    },
  });
  new Counter({
    name: 'wirekube_relay_protocol_errors_total',
    help: 'Protocol violations by clients (bad lengths, wrong first frame, unknown types).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.protocolErrors);
    },
  });
  new Counter({
    name: 'wirekube_relay_auth_total',
    help: 'Key-ownership proofs, by result.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, stats.authSuccesses);
      this.inc({ result: 'failed' }, stats.authFailures);
    },
  });
  new Counter({
    name: 'wirekube_relay_registrations_total',
    help: 'Registrations for a key that was already connected, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'replaced' }, stats.replacements);
      this.inc({ outcome: 'refused' }, stats.refusedRegistrations);
    },
  });
  new Gauge({
    name: 'wirekube_relay_queue_bytes',
    help: 'Bytes waiting in send queues: total over all connections, and the largest single queue.',
    labelNames: ['aggregate'],
    registers: [registry],
    collect() {
      this.set({ aggregate: 'sum' }, server.queuedBytes);
      this.set({ aggregate: 'max' }, server.maxQueuedBytes);
    },
  });
  return registry;
}
