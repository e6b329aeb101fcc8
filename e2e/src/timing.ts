import { createLab } from './lab.js';
import type { HostSpec } from './topology/spec.js';

/** The "full topology": API server up, five hosts across public/cone/symmetric, STUN up. */
export const FULL_TOPOLOGY: readonly HostSpec[] = [
  { name: 'pub1', nat: 'none' },
  { name: 'pub2', nat: 'none' },
  { name: 'cone1', nat: 'cone', lan: 'home' },
  { name: 'cone2', nat: 'cone', lan: 'home' },
  { name: 'sym1', nat: 'symmetric' },
];

export interface TopologyTiming {
  createMs: number;
  /** From starting etcd + kube-apiserver to /readyz 200 (inside createMs). */
  apiServerStartMs: number | null;
  destroyMs: number;
  totalMs: number;
}

/** Creates and destroys one topology, timing each half. */
export async function timeTopology(options: {
  controlPlane: boolean;
  stun: boolean;
}): Promise<TopologyTiming> {
  const began = performance.now();
  const lab = await createLab({ hosts: FULL_TOPOLOGY, ...options });
  const created = performance.now();
  const apiServerStartMs = lab.controlPlane?.startMs ?? null;
  await lab.destroy();
  const ended = performance.now();
  return { createMs: created - began, apiServerStartMs, destroyMs: ended - created, totalMs: ended - began };
}
