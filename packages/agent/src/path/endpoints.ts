import type { PeerTransport } from '@wirekube/crd-types';
import { HANDSHAKE_FRESH_MS } from '../plan/plan.js';
import type { DesiredNode, DesiredPeer, ObservedPeer } from '../plan/types.js';
import type { PathDecision } from './types.js';

/**
 * The plan with each peer's endpoint as path selection wants it: relayed peers point at their local proxy on
 * 127.0.0.1; `force` overrides a roamed endpoint only when the machine itself moves the peer. Pure.
 */
export function withPaths(
  desired: DesiredNode,
  useOf: (peer: DesiredPeer) => PathDecision['use'] | undefined,
  proxyEndpoint: (publicKey: string) => string | undefined,
): DesiredNode {
  const peers = desired.device.peers.map((peer) => {
    const use = useOf(peer);
    if (!use) return peer;
    if (use.path === 'relay') {
      const proxy = proxyEndpoint(peer.publicKey);
      return proxy ? { ...peer, endpoint: proxy, keepRoamedEndpoint: !use.force } : peer;
    }
    return use.force && peer.endpoint ? { ...peer, keepRoamedEndpoint: false } : peer;
  });
  return { ...desired, device: { ...desired.device, peers } };
}

/**
 * The path each peer really uses, read from WireGuard itself: a fresh handshake, and its endpoint is the proxy
 * (relay) or anything else (direct). Peers without a fresh handshake on either path are left out (seed status).
 */
export function peerTransports(
  peers: readonly DesiredPeer[],
  observed: ReadonlyMap<string, ObservedPeer>,
  proxyEndpoint: (publicKey: string) => string | undefined,
  nowMs: number,
  /** Peers whose direct path is still being tried: a handshake from before the attempt proves nothing. */
  unproven: (publicKey: string) => boolean = () => false,
): Map<string, PeerTransport> {
  const out = new Map<string, PeerTransport>();
  for (const peer of peers) {
    if (unproven(peer.publicKey)) continue;
    const wg = observed.get(peer.publicKey);
    const handshake = wg?.lastHandshakeMs ?? 0;
    if (handshake <= 0 || nowMs - handshake >= HANDSHAKE_FRESH_MS || !wg?.endpoint) continue;
    const proxy = proxyEndpoint(peer.publicKey);
    out.set(peer.name, proxy !== undefined && wg.endpoint === proxy ? 'relay' : 'direct');
  }
  return out;
}
