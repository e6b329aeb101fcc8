import { resolveMeshSpec, type WireKubePeer } from '@wirekube/crd-types';
import type { PlanInput } from '../src/plan/types.js';

export const KEYS = {
  self: 'pTZAW0HwZbIIwHToLQfY0+5g2RAaRJzzLU6LAqL4ElY=',
  a: '2JMviHj9+LoepjceHgNvo0IPfrQLJvGU40tTd3M5uEc=',
  b: 'BwSrLaSu9q+k1zQrPpsVdhIeVIjV5g1DgM2+oOPoYHU=',
  c: 'qTUvI1MOQD7yAtT9mD7S/Zaf8mDZFWQXSQ6oBVyComQ=',
};
export const PRIVATE_KEY = 'YE5tM1V5bXVQZ0N2bDZBb3JDUUlJc1R3eXpNVU1jV0E=';

export function peer(
  node: string,
  spec: Partial<WireKubePeer['spec']>,
  annotations?: Record<string, string>,
): WireKubePeer {
  return {
    apiVersion: 'wirekube.io/v1alpha1',
    kind: 'WireKubePeer',
    metadata: {
      name: `node-${node}`,
      labels: { 'wirekube.io/node': node },
      ...(annotations ? { annotations } : {}),
    },
    spec: { publicKey: '', ...spec },
  };
}

export const NOW = Date.parse('2026-11-23T12:00:00Z');

export function input(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    nodeName: 'self',
    mesh: resolveMeshSpec(undefined),
    privateKey: PRIVATE_KEY,
    publicKey: KEYS.self,
    self: peer('self', { publicKey: KEYS.self, allowedIPs: ['10.0.0.1/32'], endpoint: '203.0.113.1:51820' }),
    peers: [],
    observed: new Map(),
    publicIP: '203.0.113.1',
    protectedAddresses: [],
    nowMs: NOW,
    ...overrides,
  };
}
