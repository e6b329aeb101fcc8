import { describe, expect, it } from 'vitest';
import {
  FWMARK,
  KEY_DIR,
  LABELS,
  nodeNameForPeer,
  peerNameForNode,
  ROUTE_TABLE,
  RULE_PRIORITY,
} from '../src/index.js';

describe('constants from the seed', () => {
  it('match the node-management seed', () => {
    expect(ROUTE_TABLE).toBe(22347);
    expect(RULE_PRIORITY).toBe(200);
    expect(FWMARK).toBe(0x574b);
    expect(KEY_DIR).toBe('/var/lib/wirekube');
    expect(LABELS.node).toBe('wirekube.io/node');
    expect(LABELS.vpnEnabled).toBe('wirekube.io/vpn-enabled');
  });

  it('name peers node-<node-name> and back', () => {
    expect(peerNameForNode('my-node')).toBe('node-my-node');
    expect(nodeNameForPeer('node-my-node')).toBe('my-node');
    expect(nodeNameForPeer('node-')).toBeUndefined();
    expect(nodeNameForPeer('gateway-1')).toBeUndefined();
  });
});
