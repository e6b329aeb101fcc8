import { describe, expect, it } from 'vitest';
import { createHttpServer } from '../src/http/server.js';
import { AgentMetrics } from '../src/metrics/metrics.js';

describe('metrics and health endpoints', () => {
  it('serves per-peer metrics as counters and gauges, and drops series of peers that left', async () => {
    const metrics = new AgentMetrics();
    metrics.setNatType('cone');
    metrics.observePeers([
      {
        name: 'node-a',
        connected: true,
        transport: 'direct',
        handshakeAgeSeconds: 12,
        rxBytes: 1000,
        txBytes: 500,
      },
    ]);
    metrics.observePeers([
      {
        name: 'node-a',
        connected: true,
        transport: 'direct',
        handshakeAgeSeconds: 3,
        rxBytes: 1500,
        txBytes: 900,
      },
    ]);
    // A recreated peer starts its counters again: the exported counter must keep growing.
    metrics.observePeers([
      {
        name: 'node-a',
        connected: true,
        transport: 'direct',
        handshakeAgeSeconds: 1,
        rxBytes: 100,
        txBytes: 100,
      },
    ]);
    const app = createHttpServer(metrics.registry, {
      live: () => true,
      ready: () => ({ ready: false, reason: 'first reconcile pending' }),
    });
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain('wirekube_peer_receive_bytes_total{peer="node-a"} 1600');
    expect(text).toContain('wirekube_peer_transmit_bytes_total{peer="node-a"} 1000');
    expect(text).toContain('wirekube_peer_last_handshake_age_seconds{peer="node-a"} 1');
    expect(text).toContain('wirekube_peer_transport{peer="node-a",mode="direct"} 1');
    expect(text).toContain('wirekube_nat_type{type="cone"} 1');
    metrics.observePeers([]);
    expect((await app.inject({ url: '/metrics' })).body).not.toContain('peer="node-a"');
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await app.inject({ url: '/readyz' });
    expect([ready.statusCode, ready.body]).toEqual([503, 'not ready: first reconcile pending\n']);
    await app.close();
  });
});
