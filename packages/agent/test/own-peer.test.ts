import { describe, expect, it } from 'vitest';
import {
  type MeshMembership,
  meshMembership,
  newOwnPeer,
  type OwnPeerFacts,
  ownPeerAction,
  ownPeerPatch,
} from '../src/daemon/own-peer.js';
import { KEYS, peer } from './fixtures.js';

const facts: OwnPeerFacts = {
  nodeName: 'n1',
  nodeUid: 'uid-1',
  publicKey: KEYS.self,
  endpoint: '203.0.113.7:51820',
  internalEndpoint: '10.1.0.2:51820',
  persistentKeepalive: 25,
  initialAllowedIPs: ['10.1.0.2/32'],
};

describe('own WireKubePeer', () => {
  it('is created named node-<node>, labelled, owned by its Node, with allowedIPs seeded', () => {
    expect(newOwnPeer(facts)).toEqual({
      apiVersion: 'wirekube.io/v1alpha1',
      kind: 'WireKubePeer',
      metadata: {
        name: 'node-n1',
        labels: { 'wirekube.io/node': 'n1' },
        annotations: { 'wirekube.io/internal-endpoint': '10.1.0.2:51820' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }],
      },
      spec: {
        publicKey: KEYS.self,
        persistentKeepalive: 25,
        endpoint: '203.0.113.7:51820',
        allowedIPs: ['10.1.0.2/32'],
      },
    });
  });

  it('is patched only in the agent-owned fields that differ, never allowedIPs', () => {
    const existing = {
      ...peer('n1', {
        publicKey: KEYS.a,
        endpoint: '203.0.113.1:51820',
        allowedIPs: ['10.9.9.9/32'],
        persistentKeepalive: 25,
      }),
    };
    expect(ownPeerPatch(existing, facts)).toEqual({
      spec: { publicKey: KEYS.self, endpoint: '203.0.113.7:51820' },
      metadata: {
        annotations: { 'wirekube.io/internal-endpoint': '10.1.0.2:51820' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }],
      },
    });
  });

  it('needs no patch when it already says everything', () => {
    expect(ownPeerPatch(newOwnPeer(facts), facts)).toBeUndefined();
  });
});

describe('defect 4: a deleted own WireKubePeer comes back only while the Node is in the mesh', () => {
  const node = (labels?: Record<string, string>) => ({ ...(labels ? { labels } : {}) });

  it.each<[string, Parameters<typeof meshMembership>[0], string]>([
    ['labelled true', node({ 'wirekube.io/vpn-enabled': 'true' }), 'in'],
    ['labelled false', node({ 'wirekube.io/vpn-enabled': 'false' }), 'out'],
    ['not labelled', node({}), 'unlabelled'],
    ['no Node object', undefined, 'gone'],
  ])('membership of a Node %s', (_name, n, expected) => {
    expect(meshMembership(n)).toBe(expected);
  });

  it.each<[MeshMembership, boolean, string]>([
    ['in', false, 'create'],
    ['unlabelled', false, 'create'],
    ['gone', false, 'create'],
    ['out', false, 'left-out'],
    ['in', true, 'create'],
    ['unlabelled', true, 'left-out'],
    ['gone', true, 'left-out'],
    ['out', true, 'left-out'],
  ])('missing, Node %s, deleted while running: %s → %s', (membership, deletedWhileRunning, expected) => {
    const action = ownPeerAction(undefined, facts, { membership, deletedWhileRunning });
    expect(action.type).toBe(expected);
    if (action.type === 'create') expect(action.peer).toEqual(newOwnPeer(facts));
    if (action.type === 'left-out') expect(action.reason).toContain('Node n1');
  });

  it('an existing own peer is patched or left alone, whatever the label says', () => {
    const existing = newOwnPeer(facts);
    expect(ownPeerAction(existing, facts, { membership: 'out', deletedWhileRunning: false })).toEqual({
      type: 'none',
    });
    expect(
      ownPeerAction(
        existing,
        { ...facts, endpoint: '198.51.100.77:51820' },
        { membership: 'in', deletedWhileRunning: true },
      ),
    ).toEqual({ type: 'patch', patch: { spec: { endpoint: '198.51.100.77:51820' } } });
  });
});
