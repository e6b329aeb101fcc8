import type { V1Node, V1Service } from '@kubernetes/client-node';
import { resolveMeshSpec } from '@wirekube/crd-types';
import { describe, expect, it } from 'vitest';
import {
  externalTarget,
  managedTarget,
  needsNodeAddresses,
  RelayTargetError,
  relayLookup,
} from '../src/relay/target.js';

function service(spec: V1Service['spec'], status?: V1Service['status']): V1Service {
  return {
    metadata: { name: 'wirekube-relay', namespace: 'wirekube-system' },
    spec,
    ...(status ? { status } : {}),
  };
}
const PORTS = [{ name: 'relay', port: 3478, protocol: 'TCP', nodePort: 31478 }];
const node = (name: string, addresses: Array<[string, string]>): V1Node => ({
  metadata: { name },
  status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});

function failure(fn: () => unknown): RelayTargetError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RelayTargetError) return error;
    throw error;
  }
  throw new Error('expected a RelayTargetError');
}

describe('relayLookup', () => {
  const svc = { namespace: 'wirekube-system', name: 'wirekube-relay' };
  it('mode never: no relay connection at all, whatever the provider', () => {
    const mesh = resolveMeshSpec({ relay: { mode: 'never', provider: 'managed' } });
    expect(relayLookup(mesh, svc)).toEqual({ kind: 'none' });
  });
  it('no provider: none', () => {
    expect(relayLookup(resolveMeshSpec({}), svc)).toEqual({ kind: 'none' });
  });
  it('managed: the configured Service', () => {
    const mesh = resolveMeshSpec({ relay: { mode: 'auto', provider: 'managed' } });
    expect(relayLookup(mesh, svc)).toEqual({ kind: 'service', ...svc });
  });
  it('external: the endpoint; a missing one is reported, naming the field', () => {
    const ok = resolveMeshSpec({
      relay: { provider: 'external', external: { endpoint: '203.0.113.9:3478' } },
    });
    expect(relayLookup(ok, svc)).toEqual({
      kind: 'external',
      target: { host: '203.0.113.9', port: 3478, pool: false, source: 'external' },
    });
    const bad = relayLookup(resolveMeshSpec({ relay: { provider: 'external' } }), svc);
    expect(bad.kind).toBe('invalid');
    if (bad.kind === 'invalid') expect(bad.error.field).toBe('spec.relay.external.endpoint');
  });
});

describe('externalTarget', () => {
  it.each([
    ['203.0.113.9:3478', { host: '203.0.113.9', port: 3478, pool: false }],
    ['[2001:db8::1]:443', { host: '2001:db8::1', port: 443, pool: false }],
    // A DNS name with several addresses is a pool of replicas (seed), re-resolved every 30 s.
    ['relay.example.com:3478', { host: 'relay.example.com', port: 3478, pool: true }],
  ])('%s', (text, expected) => {
    expect(externalTarget(text)).toEqual({ ...expected, source: 'external' });
  });
  it.each(['relay.example.com', '1.2.3.4:0', '1.2.3.4:70000', '2001:db8::1:443', ''])(
    'refuses %j',
    (text) => {
      expect(failure(() => externalTarget(text)).field).toBe('spec.relay.external.endpoint');
    },
  );
});

describe('managedTarget (seed: ExternalIP → LB ingress → NodePort, never ClusterIP)', () => {
  it('ExternalIP first, even with an ingress', () => {
    const s = service(
      { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['198.51.100.50'], ports: PORTS },
      { loadBalancer: { ingress: [{ ip: '203.0.113.77' }] } },
    );
    expect(managedTarget(s, [])).toEqual({
      host: '198.51.100.50',
      port: 3478,
      pool: false,
      source: 'external-ip',
    });
  });
  it('LoadBalancer ingress IP', () => {
    const s = service(
      { type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: PORTS },
      {
        loadBalancer: { ingress: [{ ip: '203.0.113.77' }] },
      },
    );
    expect(managedTarget(s, [])).toEqual({
      host: '203.0.113.77',
      port: 3478,
      pool: false,
      source: 'load-balancer-ip',
    });
  });
  it('LoadBalancer ingress hostname (one connection: every address is the same balancer)', () => {
    const s = service(
      { type: 'LoadBalancer', ports: PORTS },
      {
        loadBalancer: { ingress: [{ hostname: 'abc.elb.example.com' }] },
      },
    );
    expect(managedTarget(s, [])).toEqual({
      host: 'abc.elb.example.com',
      port: 3478,
      pool: false,
      source: 'load-balancer-hostname',
    });
  });
  it('NodePort on a node ExternalIP, else InternalIP, nodes in name order', () => {
    const s = service({ type: 'NodePort', clusterIP: '10.96.0.10', ports: PORTS });
    expect(needsNodeAddresses(s)).toBe(true);
    const nodes = [node('b', [['InternalIP', '10.0.0.2']]), node('c', [['ExternalIP', '203.0.113.3']])];
    expect(managedTarget(s, nodes)).toEqual({
      host: '203.0.113.3',
      port: 31478,
      pool: false,
      source: 'node-port',
    });
    expect(
      managedTarget(s, [node('z', [['InternalIP', '10.0.0.9']]), node('a', [['InternalIP', '10.0.0.1']])]),
    ).toMatchObject({ host: '10.0.0.1', port: 31478 });
    expect(failure(() => managedTarget(s, [])).field).toBe('nodes');
  });
  it('a pending LoadBalancer (ClusterIP only so far) is refused: never the ClusterIP, never cluster DNS', () => {
    const s = service({
      type: 'LoadBalancer',
      clusterIP: '10.96.0.10',
      ports: [{ name: 'relay', port: 3478 }],
    });
    expect(needsNodeAddresses(s)).toBe(false);
    const error = failure(() => managedTarget(s, []));
    expect(error.field).toBe('status.loadBalancer.ingress');
    expect(error.message).toContain('ClusterIP is not used');
  });
  it('a ClusterIP Service is refused', () => {
    const s = service({ type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 3478 }] });
    expect(failure(() => managedTarget(s, [node('a', [['InternalIP', '10.0.0.1']])])).field).toBe(
      'status.loadBalancer.ingress',
    );
  });
  it('a missing Service, or one without a TCP port', () => {
    expect(failure(() => managedTarget(undefined, [])).field).toBe('service');
    expect(
      failure(() => managedTarget(service({ ports: [{ port: 3478, protocol: 'UDP' }] }), [])).field,
    ).toBe('spec.ports');
  });
  it('picks the port named relay among several', () => {
    const s = service({
      externalIPs: ['198.51.100.50'],
      ports: [
        { name: 'metrics', port: 9090 },
        { name: 'relay', port: 3478 },
      ],
    });
    expect(managedTarget(s, []).port).toBe(3478);
  });
});
