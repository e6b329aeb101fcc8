import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PathChangeReason } from './types.js';

/** Path selection's metrics, registered in the agent's own Registry. */
export class PathMetrics {
  readonly changes: Counter<'reason' | 'to'>;
  readonly relayConnected: Gauge;
  readonly proxyBytes: Counter<'direction'>;
  readonly probeRtt: Histogram;
  readonly probes: Counter<'result'>;
  private readonly lastProxy = new Map<string, { rx: number; tx: number }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.changes = new Counter({
      name: 'wirekube_path_changes_total',
      help: 'Peers moved between direct and relay, by reason and new path.',
      labelNames: ['reason', 'to'] as const,
      registers,
    });
    this.relayConnected = new Gauge({
      name: 'wirekube_relay_connected',
      help: '1 while a relay connection is ready, 0 while configured but not ready; absent without a relay.',
      registers,
    });
    this.proxyBytes = new Counter({
      name: 'wirekube_relay_proxy_bytes_total',
      help: 'Bytes through the local relay proxy (tx: WireGuard → relay, rx: relay → WireGuard).',
      labelNames: ['direction'] as const,
      registers,
    });
    this.probeRtt = new Histogram({
      name: 'wirekube_probe_rtt_seconds',
      help: 'Round-trip time of answered liveness probes through the tunnel.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.probes = new Counter({
      name: 'wirekube_probes_total',
      help: 'Liveness probes sent, by result (ok, lost).',
      labelNames: ['result'] as const,
      registers,
    });
  }

  pathChanged(reason: PathChangeReason, to: 'direct' | 'relay'): void {
    this.changes.inc({ reason, to });
  }

  relayState(configured: boolean, ready: boolean): void {
    if (!configured) this.relayConnected.reset();
    else this.relayConnected.set(ready ? 1 : 0);
  }

  /** Adds what each peer's proxy counters grew by since the last sample (they reset when a proxy is reopened). */
  proxySample(samples: ReadonlyMap<string, { rxBytes: number; txBytes: number }>): void {
    for (const key of [...this.lastProxy.keys()]) if (!samples.has(key)) this.lastProxy.delete(key);
    for (const [key, s] of samples) {
      const last = this.lastProxy.get(key) ?? { rx: 0, tx: 0 };
      this.proxyBytes.inc({ direction: 'rx' }, s.rxBytes >= last.rx ? s.rxBytes - last.rx : s.rxBytes);
      this.proxyBytes.inc({ direction: 'tx' }, s.txBytes >= last.tx ? s.txBytes - last.tx : s.txBytes);
      this.lastProxy.set(key, { rx: s.rxBytes, tx: s.txBytes });
    }
  }

  probe(ok: boolean, rttMs?: number): void {
    this.probes.inc({ result: ok ? 'ok' : 'lost' });
    if (ok && rttMs !== undefined) this.probeRtt.observe(rttMs / 1000);
  }
}
