import { API_VERSION, type WireKubeMesh } from '@wirekube/crd-types';
import { describe, expect, it } from 'vitest';
import { planPeerGc } from '../src/gc/peers.js';
import { planMeshStatus } from '../src/mesh/status.js';
import { peer, T0 } from './fixtures.js';

const mesh = (status?: WireKubeMesh['status']): WireKubeMesh => ({
  apiVersion: API_VERSION,
  kind: 'WireKubeMesh',
  metadata: { name: 'default' },
  spec: {},
  ...(status ? { status } : {}),
});

describe('planMeshStatus', () => {
  it.each([
    { name: 'empty', peers: [], status: { peerCount: 0, connectedCount: 0 } },
    {
      name: 'counts connected',
      peers: [peer('a', { connected: true }), peer('b', { connected: false }), peer('c')],
      status: { peerCount: 3, connectedCount: 1 },
    },
  ])('$name', ({ peers, status }) => {
    expect(planMeshStatus(mesh(), peers)).toEqual({ status, changed: true });
  });
  it('skips peers being deleted and does not rewrite equal counts', () => {
    const gone = peer('b', { connected: true });
    gone.metadata.deletionTimestamp = new Date(T0).toISOString();
    const plan = planMeshStatus(mesh({ peerCount: 1, connectedCount: 1 }), [
      peer('a', { connected: true }),
      gone,
    ]);
    expect(plan).toEqual({ status: { peerCount: 1, connectedCount: 1 }, changed: false });
  });
});

describe('planPeerGc', () => {
  const base = { synced: true, nowMs: T0, graceMs: 60_000 };
  it.each([
    {
      name: 'deletes a labelled peer whose Node is gone',
      peers: [peer('node-a', { node: 'a' }), peer('node-b', { node: 'b' })],
      nodes: ['a'],
      deleted: ['node-b'],
    },
    { name: 'keeps user-managed peers (no label)', peers: [peer('external')], nodes: ['a'], deleted: [] },
    {
      name: 'no Node at all: cache suspect, nothing',
      peers: [peer('node-b', { node: 'b' })],
      nodes: [],
      deleted: [],
    },
    {
      name: 'young peer kept in grace',
      peers: [peer('node-b', { node: 'b', created: T0 - 10_000 })],
      nodes: ['a'],
      deleted: [],
      requeue: 50_000,
    },
  ])('$name', ({ peers, nodes, deleted, requeue }) => {
    const plan = planPeerGc({ ...base, peers, nodes: new Set(nodes) });
    expect(plan.delete.map((d) => d.peer)).toEqual(deleted);
    expect(plan.requeueAfterMs).toBe(requeue);
  });
  it('does nothing before the informers synced', () => {
    expect(
      planPeerGc({ ...base, synced: false, peers: [peer('node-b', { node: 'b' })], nodes: new Set(['a']) }),
    ).toEqual({
      delete: [],
    });
  });
});
