import { describe, expect, it } from 'vitest';
import { newOwnPeer, type OwnPeerFacts, ownPeerPatch } from '../src/daemon/own-peer.js';
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
