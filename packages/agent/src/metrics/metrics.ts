import type { NatType, PeerTransport } from '@wirekube/crd-types';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface PeerSample {
  name: string;
  connected: boolean;
  transport: PeerTransport;
  /** Seconds since the last handshake; undefined when there never was one. */
  handshakeAgeSeconds?: number;
  rxBytes: number;
  txBytes: number;
}

const NAT_TYPES: Array<NatType | 'unknown'> = ['cone', 'symmetric', 'unknown'];
const TRANSPORTS: PeerTransport[] = ['direct', 'relay'];

/**
 * The agent's Prometheus metrics, in a Registry of its own (never the global default, so tests and embedders
 * get clean state). WireGuard's byte counters are cumulative and reset when a peer or the interface is
 * recreated; they are exported as true counters by adding the difference since the last sample.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly handshakeAge = new Gauge({
    name: 'wirekube_peer_last_handshake_age_seconds',
    help: 'Seconds since the last WireGuard handshake with the peer (absent before the first one).',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  private readonly connected = new Gauge({
    name: 'wirekube_peer_connected',
    help: '1 when the peer had a handshake within the last 180 s.',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  private readonly transport = new Gauge({
    name: 'wirekube_peer_transport',
    help: '1 for the transport (direct or relay) currently used towards the peer.',
    labelNames: ['peer', 'mode'] as const,
    registers: [this.registry],
  });
  private readonly rx = new Counter({
    name: 'wirekube_peer_receive_bytes_total',
    help: 'Bytes received from the peer through WireGuard.',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  private readonly tx = new Counter({
    name: 'wirekube_peer_transmit_bytes_total',
    help: 'Bytes sent to the peer through WireGuard.',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  private readonly natType = new Gauge({
    name: 'wirekube_nat_type',
    help: "1 for this node's detected NAT mapping behaviour (unknown: undetermined).",
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: 'wirekube_reconcile_total',
    help: 'Reconcile passes, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'wirekube_reconcile_duration_seconds',
    help: 'Time of one reconcile pass (read, plan, apply, status).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'wirekube_errors_total',
    help: 'Errors by the component where they happened.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly peers = new Gauge({
    name: 'wirekube_peers',
    help: 'WireKubePeers seen by this agent, by state (configured, passive, skipped).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  private readonly lastBytes = new Map<string, { rx: number; tx: number }>();

  setNatType(type: NatType): void {
    for (const t of NAT_TYPES) this.natType.set({ type: t }, (type || 'unknown') === t ? 1 : 0);
  }

  /** Replaces the per-peer series with this sample; peers that are gone lose their series. */
  observePeers(samples: readonly PeerSample[]): void {
    const present = new Set(samples.map((s) => s.name));
    for (const name of [...this.lastBytes.keys()]) {
      if (present.has(name)) continue;
      this.lastBytes.delete(name);
      for (const metric of [this.handshakeAge, this.connected, this.rx, this.tx])
        metric.remove({ peer: name });
      for (const mode of TRANSPORTS) this.transport.remove({ peer: name, mode });
    }
    for (const s of samples) {
      const last = this.lastBytes.get(s.name) ?? { rx: 0, tx: 0 };
      this.rx.inc({ peer: s.name }, s.rxBytes >= last.rx ? s.rxBytes - last.rx : s.rxBytes);
      this.tx.inc({ peer: s.name }, s.txBytes >= last.tx ? s.txBytes - last.tx : s.txBytes);
      this.lastBytes.set(s.name, { rx: s.rxBytes, tx: s.txBytes });
      this.connected.set({ peer: s.name }, s.connected ? 1 : 0);
      if (s.handshakeAgeSeconds === undefined) this.handshakeAge.remove({ peer: s.name });
      else this.handshakeAge.set({ peer: s.name }, s.handshakeAgeSeconds);
      for (const mode of TRANSPORTS) this.transport.set({ peer: s.name, mode }, s.transport === mode ? 1 : 0);
    }
  }
}
