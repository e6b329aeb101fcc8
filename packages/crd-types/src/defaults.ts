import type { Static, TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { KINDS, type KindName } from './kinds.js';
import type { RelayMode, RelayProvider, WireKubeMeshSpec } from './schema/mesh.js';

/**
 * Returns a copy of `spec` with every schema default filled in, exactly as the API server defaults it from the
 * CRD (the same `default` keywords). Never mutates its input.
 */
export function withDefaults<T>(kind: KindName, spec: T | undefined): T {
  const schema: TObject = KINDS[kind].spec;
  const input = spec === undefined ? (schema['default'] ?? {}) : structuredClone(spec);
  return Value.Default(schema, input) as T;
}

/** A mesh spec after defaulting: what an agent actually runs with. */
export interface ResolvedMeshSpec {
  listenPort: number;
  interfaceName: string;
  mtu: number;
  stunServers: string[];
  relay: {
    mode: RelayMode;
    provider?: RelayProvider;
    handshakeTimeoutSeconds: number;
    directRetryIntervalSeconds: number;
    external?: { endpoint?: string; transport: 'tcp' };
    managed?: { replicas: number; serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer'; port: number };
  };
}

export function resolveMeshSpec(spec: WireKubeMeshSpec | undefined): ResolvedMeshSpec {
  const full = withDefaults<Static<(typeof KINDS)['WireKubeMesh']['spec']>>(
    'WireKubeMesh',
    spec,
  ) as WireKubeMeshSpec;
  return { ...full, stunServers: full.stunServers ?? [] } as ResolvedMeshSpec;
}
