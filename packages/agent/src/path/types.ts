import type { RelayMode } from '@wirekube/crd-types';

/**
 * How a node meets the internet, as far as a direct path cares. `public` is a node whose endpoint is its own
 * address (no NAT in front); `cone` and `symmetric` are the published NAT types; `unknown` when undetermined.
 */
export type Reachability = 'public' | 'cone' | 'symmetric' | 'unknown';

/** The path a peer's WireGuard endpoint points at. */
export type Path = 'direct' | 'relay';

/** Why a peer moved between paths: the reason on Events and the `reason` label of the path-change metric. */
export type PathChangeReason =
  | 'mode-never'
  | 'mode-always'
  | 'mode-auto'
  | 'nat-types'
  | 'handshake-timeout'
  | 'liveness-lost'
  | 'upgraded'
  | 'roamed-direct'
  | 'roamed-relay'
  /** Found on the relay at start-up (a previous agent relayed it): a state's reason, never a change's. */
  | 'adopted';

export interface PathTimers {
  mode: RelayMode;
  handshakeTimeoutMs: number;
  directRetryIntervalMs: number;
}

/** The last liveness probe that finished (replied or timed out). */
export interface ProbeResult {
  sentAtMs: number;
  ok: boolean;
  rttMs?: number;
}

/**
 * The local relay proxy's per-peer packet counters (cumulative, reset when its socket is reopened). Counts, not
 * the proxy's last-activity times: those are on the monotonic clock and the machine's `now` is the wall clock
 * (the upgrade slots need one both nodes share), so comparing counts between two samples is the clock-free test
 * of "nothing went through the proxy in between".
 */
export interface ProxyActivity {
  /** Datagrams WireGuard handed to the proxy for this peer (forwarded to the relay or dropped). */
  txPackets: number;
  /** Datagrams the proxy delivered from the relay to WireGuard for this peer. */
  rxPackets: number;
}

/**
 * Everything the machine looks at for one peer, read once per tick. Counters are WireGuard's cumulative
 * per-peer byte counters; `proxy` is the relay proxy's view of the same peer.
 */
export interface PathObservation {
  timers: PathTimers;
  /** True when a relay connection is ready to carry this node's traffic. */
  relayReady: boolean;
  /** Whether direct can work at all for this pair (see `directPossible`). */
  directPossible: boolean;
  /** WireGuard's current endpoint for the peer ("ip:port"), if any. */
  endpoint?: string;
  /** The local relay proxy's endpoint for this peer, when a proxy socket exists for it. */
  proxyEndpoint?: string;
  lastHandshakeMs?: number;
  rxBytes: number;
  txBytes: number;
  /** The proxy's counters for this peer, when a proxy socket exists for it. */
  proxy?: ProxyActivity;
  probe?: ProbeResult;
  /** Coordinated upgrade slots for this pair, shared by both sides (see `attemptSlots`). */
  slots: AttemptSlots;
}

export interface AttemptSlots {
  /** Start of the latest slot at or before now. */
  currentMs: number;
  /** Start of the first slot after now. */
  nextMs: number;
}

interface Counters {
  rx: number;
  tx: number;
}

/**
 * One peer's path state. Each variant carries exactly what its transitions need.
 * - trying: WireGuard points direct and we wait for proof (a handshake, or a probe answer when a session
 *   already exists) until `deadlineMs`; `upgradeFrom` marks a short make-before-break attempt from the relay.
 * - direct: proven direct; `stalledSinceMs` is set while WireGuard sends and hears nothing back.
 * - relay: WireGuard points at the local proxy.
 */
export type PathState =
  | {
      kind: 'trying';
      sinceMs: number;
      deadlineMs: number;
      /** Present on an upgrade attempt: the reason the peer was relayed, kept if the attempt fails. */
      upgradeFrom?: PathChangeReason;
      /**
       * Upgrade attempts only: the sample from which the proof is measured — WireGuard pointed direct then, and
       * the proxy's counters must not move until a probe sent after it is answered. Absent until WireGuard is
       * seen pointing direct; dropped and taken again whenever the proxy carries a packet or WireGuard roams.
       */
      quiet?: { atMs: number; proxy: ProxyActivity };
    }
  | {
      kind: 'direct';
      sinceMs: number;
      last: Counters;
      stalledSinceMs?: number;
      /** Direct only because mode never said so: unproven, so re-checked when the mode turns auto. */
      byMode?: true;
    }
  | { kind: 'relay'; sinceMs: number; reason: PathChangeReason };

/**
 * What the machine asks for. `force` overrides WireGuard's roamed endpoint (used only when the machine itself
 * moves the peer, never to fight a roam, DESIGN.md lesson 5); `probe` asks for a liveness probe now.
 */
export interface PathDecision {
  state: PathState;
  use: { path: Path; force: boolean };
  probe: boolean;
  /** Milliseconds since the epoch when the machine wants to look again (undefined: only on new input). */
  wakeAtMs?: number;
  /** Set when the path in use changed on this step. */
  change?: { from: Path; to: Path; reason: PathChangeReason };
}
