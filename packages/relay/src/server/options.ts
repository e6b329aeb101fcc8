import { type Logger, pino } from 'pino';
import { ALL_EXTENSIONS, Extension } from '../codec/extensions.js';
import { RelayArgumentError } from '../errors.js';
import { realTimers, type Timers } from '../timers.js';

export interface RelayServerOptions {
  /** Refuse to route for a key until the connection proved it holds the private key. Default false. */
  requireAuth?: boolean;
  /** Extensions this relay offers. Default all; [] makes a core-only relay (useful to test fallbacks). */
  extensions?: readonly Extension[];
  /** Bytes a destination's send queue may hold before frames to it are dropped. Default 4 MiB. */
  maxQueueBytes?: number;
  /** A sender is paused (TCP backpressure) while a destination it wrote to has more than this queued.
   * Default 16 KiB (Node's own write high-water mark, as pipe() uses). */
  pauseThresholdBytes?: number;
  /** Longest such pause. Default 50 ms. */
  maxPauseMs?: number;
  /** After a pause timed out, senders stop pausing for that destination this long. Default 1 s. */
  slowPenaltyMs?: number;
  /** Time from accept until the connection must be registered (and authenticated if required). Default 10 s. */
  handshakeTimeoutMs?: number;
  /** A Register that needs a proof must be followed by Hello within this long, or it is refused with the reason
   * (a core-only client hears "authentication required" at once instead of waiting for the handshake timeout).
   * Our client sends both in one write. Default 100 ms. */
  helloGraceMs?: number;
  /** Control frames one connection may send per second (sustained); more are dropped. Default 100. */
  controlPerSecond?: number;
  /** Control frames one connection may send in a burst. Default 200. */
  controlBurst?: number;
  /** A connection without the ping extension that sends nothing this long is closed. Default 75 s (3 keepalives). */
  idleTimeoutMs?: number;
  /** Relay → client Ping period on connections that agreed to the ping extension. Default 2 s. */
  pingIntervalMs?: number;
  /** Silence after which a ping-enabled connection is declared dead. Default 6 s (3 missed pings). */
  pingTimeoutMs?: number;
  /** Period of the housekeeping sweep that drives the timeouts above. Default 1 s. */
  sweepIntervalMs?: number;
  /** Grace given to a closing connection to flush its final Error frame. Default 2 s. */
  closeGraceMs?: number;
  /** Per-connection log lines (registered, closed, auth failed, ...) per second, sustained; lines over it are
   * counted and summarised once per sweep (`log-lines-suppressed`). Default 20. */
  logLinesPerSecond?: number;
  /** Per-connection log lines in a burst. Default 200. */
  logLinesBurst?: number;
  /** Strikes (connections that broke the protocol or never registered) one source address (IPv4, IPv6 /64) may
   * spend at once before its new connections are refused as they arrive; 0 turns the source penalty off (use 0 behind
   * SNAT, where every client shares one address). Default 50. See source-penalty.ts. */
  sourcePenaltyBurst?: number;
  /** Strikes a source regains per second: a penalized source still gets this many connections. Default 5. */
  sourcePenaltyPerSecond?: number;
  timers?: Timers;
  logger?: Logger;
}

export type ResolvedServerOptions = Required<RelayServerOptions>;

export function resolveServerOptions(options: RelayServerOptions): ResolvedServerOptions {
  const resolved: ResolvedServerOptions = {
    requireAuth: options.requireAuth ?? false,
    extensions: options.extensions ?? ALL_EXTENSIONS,
    maxQueueBytes: options.maxQueueBytes ?? 4 * 1024 * 1024,
    pauseThresholdBytes: options.pauseThresholdBytes ?? 16 * 1024,
    maxPauseMs: options.maxPauseMs ?? 50,
    slowPenaltyMs: options.slowPenaltyMs ?? 1_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    helloGraceMs: options.helloGraceMs ?? 100,
    controlPerSecond: options.controlPerSecond ?? 100,
    controlBurst: options.controlBurst ?? 200,
    idleTimeoutMs: options.idleTimeoutMs ?? 75_000,
    pingIntervalMs: options.pingIntervalMs ?? 2_000,
    pingTimeoutMs: options.pingTimeoutMs ?? 6_000,
    sweepIntervalMs: options.sweepIntervalMs ?? 1_000,
    closeGraceMs: options.closeGraceMs ?? 2_000,
    logLinesPerSecond: options.logLinesPerSecond ?? 20,
    logLinesBurst: options.logLinesBurst ?? 200,
    sourcePenaltyBurst: options.sourcePenaltyBurst ?? 50,
    sourcePenaltyPerSecond: options.sourcePenaltyPerSecond ?? 5,
    timers: options.timers ?? realTimers,
    logger: options.logger ?? pino({ level: 'silent' }),
  };
  if (resolved.requireAuth && !resolved.extensions.includes(Extension.Auth)) {
    throw new RelayArgumentError('requireAuth needs the auth extension enabled', 'requireAuth');
  }
  for (const field of ['logLinesPerSecond', 'logLinesBurst'] as const) {
    if (!(resolved[field] >= 1)) throw new RelayArgumentError(`${field} must be at least 1`, field);
  }
  if (!(Number.isInteger(resolved.sourcePenaltyBurst) && resolved.sourcePenaltyBurst >= 0)) {
    throw new RelayArgumentError('sourcePenaltyBurst must be an integer of 0 or more', 'sourcePenaltyBurst');
  }
  if (resolved.sourcePenaltyBurst > 0 && !(resolved.sourcePenaltyPerSecond > 0)) {
    throw new RelayArgumentError('sourcePenaltyPerSecond must be positive', 'sourcePenaltyPerSecond');
  }
  if (!(resolved.maxQueueBytes > 0)) {
    throw new RelayArgumentError('maxQueueBytes must be positive', 'maxQueueBytes');
  }
  return resolved;
}
