/**
 * Plain counters the server bumps on its hot path (once per read, not per frame); the program's prom-client
 * collectors read them at scrape time, so forwarding never pays for metric label lookups.
 */
export const DROP_REASONS = [
  /** Data for a key no connection has registered. */
  'no_route',
  /** The destination's send queue was full (slow or stalled reader). */
  'queue_full',
  /** Data from a connection that is not (yet) registered and routed. */
  'unregistered',
  /** A Data frame too short to hold a key. */
  'malformed',
  /** Data addressed to the sender's own key. */
  'self',
  /** Control frames over the sender's rate limit. */
  'rate_limited',
  /** Control frames for a connection that did not agree to the control extension. */
  'no_control',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface RelayStats {
  connectionsAccepted: number;
  /** Connections refused as they arrived because their source had spent its strikes (source-penalty.ts). */
  connectionsPenalized: number;
  framesForwarded: number;
  bytesForwarded: number;
  /** Control frames delivered. */
  controlForwarded: number;
  /** Frames dropped, by reason. */
  drops: Record<DropReason, number>;
  protocolErrors: number;
  authSuccesses: number;
  authFailures: number;
  /** Registrations that replaced an older connection for the same key after proving ownership. */
  replacements: number;
  /** Registrations refused because the key was taken and ownership was not proven. */
  refusedRegistrations: number;
}

export function emptyStats(): RelayStats {
  return {
    connectionsAccepted: 0,
    connectionsPenalized: 0,
    framesForwarded: 0,
    bytesForwarded: 0,
    controlForwarded: 0,
    drops: {
      no_route: 0,
      queue_full: 0,
      unregistered: 0,
      malformed: 0,
      self: 0,
      rate_limited: 0,
      no_control: 0,
    },
    protocolErrors: 0,
    authSuccesses: 0,
    authFailures: 0,
    replacements: 0,
    refusedRegistrations: 0,
  };
}
