import type { ObservedPeer } from '../plan/types.js';
import { directPossible } from './eligibility.js';
import { initialState, next } from './machine.js';
import { attemptSlots } from './schedule.js';
import type {
  Path,
  PathChangeReason,
  PathDecision,
  PathObservation,
  PathState,
  PathTimers,
  ProbeResult,
  ProxyActivity,
  Reachability,
} from './types.js';

/** One configured peer, as path selection needs it. */
export interface PathPeer {
  name: string;
  publicKey: string;
  remote: Reachability;
  /** Same public address as this node: they talk by LAN address, no NAT in between. */
  sameLan: boolean;
  /** The peer's first AllowedIP as an address: where its agent answers probes through the tunnel. */
  probeAddress?: string;
}

export interface SelectorInput {
  timers: PathTimers;
  localKey: string;
  local: Reachability;
  peers: readonly PathPeer[];
  relayReady: boolean;
  proxyEndpoint(publicKey: string): string | undefined;
  /** The proxy's packet counters for a peer, read when its machine steps (undefined: no proxy socket). */
  proxyActivity(publicKey: string): ProxyActivity | undefined;
  /** WireGuard's per-peer state by public key. */
  observed: ReadonlyMap<string, ObservedPeer>;
  /** The last finished probe per public key. */
  probes: ReadonlyMap<string, ProbeResult>;
}

export interface PathChange {
  peer: string;
  publicKey: string;
  from: Path;
  to: Path;
  reason: PathChangeReason;
}

export interface SelectorStep {
  changes: PathChange[];
  probes: Array<{ peer: string; publicKey: string; address: string }>;
  /** True when an endpoint must be (re)programmed: a use changed, or a forced endpoint is not in place yet. */
  applyNeeded: boolean;
  wakeAtMs?: number;
}

interface Tracked {
  name: string;
  state: PathState;
  use: PathDecision['use'];
}

/**
 * Every peer's path machine, side by side: builds each observation from WireGuard, the proxy and the probes,
 * steps the machine, and remembers the state. No I/O; the caller supplies the inputs and acts on the answer.
 */
export class PathSelector {
  private readonly peers = new Map<string, Tracked>();

  /** The endpoint use for a peer, creating its machine on first sight (a new peer must not wait for a tick). */
  use(peer: PathPeer, input: SelectorInput, nowMs: number): PathDecision['use'] {
    return this.track(peer, input, nowMs).use;
  }

  state(publicKey: string): PathState | undefined {
    return this.peers.get(publicKey)?.state;
  }

  step(input: SelectorInput, nowMs: number): SelectorStep {
    const out: SelectorStep = { changes: [], probes: [], applyNeeded: false };
    const present = new Set(input.peers.map((p) => p.publicKey));
    for (const key of [...this.peers.keys()]) if (!present.has(key)) this.peers.delete(key);
    const wakes: number[] = [];
    for (const peer of input.peers) {
      const tracked = this.track(peer, input, nowMs);
      const observation = this.observe(peer, input, nowMs);
      const decision = next(tracked.state, observation, nowMs);
      if (decision.use.path !== tracked.use.path || decision.use.force !== tracked.use.force)
        out.applyNeeded = true;
      if (decision.use.force && !endpointInPlace(decision.use.path, observation)) out.applyNeeded = true;
      tracked.state = decision.state;
      tracked.use = decision.use;
      if (decision.change)
        out.changes.push({ peer: peer.name, publicKey: peer.publicKey, ...decision.change });
      if (decision.probe && peer.probeAddress)
        out.probes.push({ peer: peer.name, publicKey: peer.publicKey, address: peer.probeAddress });
      if (decision.wakeAtMs !== undefined) wakes.push(decision.wakeAtMs);
    }
    if (wakes.length > 0) out.wakeAtMs = Math.min(...wakes);
    return out;
  }

  private track(peer: PathPeer, input: SelectorInput, nowMs: number): Tracked {
    let tracked = this.peers.get(peer.publicKey);
    if (!tracked) {
      const state = initialState(this.observe(peer, input, nowMs), nowMs);
      tracked = { name: peer.name, state, use: initialUse(state) };
      this.peers.set(peer.publicKey, tracked);
    }
    tracked.name = peer.name;
    return tracked;
  }

  private observe(peer: PathPeer, input: SelectorInput, nowMs: number): PathObservation {
    const wg = input.observed.get(peer.publicKey);
    const proxyEndpoint = input.proxyEndpoint(peer.publicKey);
    const probe = input.probes.get(peer.publicKey);
    const proxy = input.proxyActivity(peer.publicKey);
    return {
      timers: input.timers,
      relayReady: input.relayReady,
      directPossible: directPossible(input.local, peer.remote, peer.sameLan),
      ...(wg?.endpoint ? { endpoint: wg.endpoint } : {}),
      ...(proxyEndpoint ? { proxyEndpoint } : {}),
      ...(wg?.lastHandshakeMs ? { lastHandshakeMs: wg.lastHandshakeMs } : {}),
      rxBytes: wg?.rxBytes ?? 0,
      txBytes: wg?.txBytes ?? 0,
      ...(proxy ? { proxy } : {}),
      ...(probe ? { probe } : {}),
      slots: attemptSlots(input.localKey, peer.publicKey, input.timers.directRetryIntervalMs, nowMs),
    };
  }
}

function initialUse(state: PathState): PathDecision['use'] {
  if (state.kind === 'relay') return { path: 'relay', force: true };
  return { path: 'direct', force: false };
}

function endpointInPlace(path: Path, o: PathObservation): boolean {
  const atProxy = o.endpoint !== undefined && o.endpoint === o.proxyEndpoint;
  return path === 'relay' ? atProxy || !o.proxyEndpoint : !atProxy && !o.endpoint?.startsWith('127.');
}
