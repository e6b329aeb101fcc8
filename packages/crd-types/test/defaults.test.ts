import { describe, expect, it } from 'vitest';
import { resolveMeshSpec, withDefaults } from '../src/index.js';

describe('defaulting from the schema', () => {
  it('an empty mesh gets every seed default', () => {
    expect(resolveMeshSpec(undefined)).toEqual({
      listenPort: 51820,
      interfaceName: 'wire_kube',
      mtu: 1420,
      stunServers: [],
      relay: { mode: 'auto', handshakeTimeoutSeconds: 30, directRetryIntervalSeconds: 120 },
    });
  });

  it('fills nested defaults only inside blocks the user wrote, and keeps what the user set', () => {
    const spec = {
      listenPort: 4000,
      relay: { provider: 'managed' as const, managed: {}, external: { endpoint: 'r:1' } },
    };
    expect(withDefaults('WireKubeMesh', spec)).toEqual({
      listenPort: 4000,
      interfaceName: 'wire_kube',
      mtu: 1420,
      relay: {
        mode: 'auto',
        provider: 'managed',
        handshakeTimeoutSeconds: 30,
        directRetryIntervalSeconds: 120,
        external: { endpoint: 'r:1', transport: 'tcp' },
        managed: { replicas: 1, serviceType: 'LoadBalancer', port: 3478 },
      },
    });
  });

  it('never mutates its input', () => {
    const spec = { relay: {} };
    withDefaults('WireKubeMesh', spec);
    expect(spec).toEqual({ relay: {} });
  });

  it('defaults the gateway health check', () => {
    const spec = {
      peerRefs: ['node-b1'],
      routes: [{ cidr: '172.20.0.0/16' }],
      healthCheck: { enabled: true, target: '172.20.1.254' },
    };
    expect(withDefaults('WireKubeGateway', spec).healthCheck).toEqual({
      enabled: true,
      target: '172.20.1.254',
      intervalSeconds: 30,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
  });
});
