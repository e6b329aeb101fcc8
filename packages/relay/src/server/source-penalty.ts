/**
 * Which sources may open connections. A relay fed garbage pays for every connection (accept, socket, session,
 * close) on the thread that forwards everyone's traffic, and an attacker chooses how many. So a source whose
 * connections break the protocol spends "strikes" from a token bucket; while its bucket is empty, its new
 * connections are refused as they arrive, before any session work (the relay's cost per such connection is then below a
 * plain discard server's). Connections already open are never touched.
 *
 * A strike is a connection that ended after a protocol violation (a bad frame, a failed proof) or without ever
 * registering. Clients that speak the protocol spend none, so a reconnect storm from many nodes behind one NAT is
 * not limited; an occasional bad connection is absorbed by the burst. A source is an IPv4 address or an IPv6 /64
 * (one host commonly holds a whole /64). Behind SNAT every client shares the translating address, and a penalty
 * would refuse them all: turn it off there (burst 0).
 */
import { isIPv6 } from 'node:net';
import { type Bucket, type BucketConfig, fullBucket, refill, take } from './token-bucket.js';

export interface PenaltyConfig extends BucketConfig {
  /** Strikes a source may spend at once; 0 turns the penalty off. */
  readonly burst: number;
  /** Strikes regained per second (also the rate of connections a penalized source still gets). */
  readonly perSecond: number;
}

/** The address a penalty applies to, or null when there is none (an embedding program's socket). */
export function sourceOf(address: string | undefined): string | null {
  if (!address) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, expanded (`::` filled with zeros, leading zeros dropped). */
function ipv6Groups(address: string): string[] {
  const bare = address.split('%')[0]!;
  const [head, tail] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

/** A struck source: its strikes left, and whether it has run out of them since it was last forgiven. */
export interface SourceRecord extends Bucket {
  readonly penalized: boolean;
}

/** Whether a source with this record (undefined: never struck) may open a connection now. */
export function admits(record: SourceRecord | undefined, now: number, config: PenaltyConfig): boolean {
  if (config.burst === 0 || record === undefined) return true;
  return refill(record, now, config).tokens >= 1;
}

/**
 * One strike against a source. `penalizedNow` is true for the strike that first empties its bucket since it was
 * last forgiven: one log line per episode, however often a persistent source regains a strike and spends it.
 */
export function strike(
  record: SourceRecord | undefined,
  now: number,
  config: PenaltyConfig,
): { record: SourceRecord; penalizedNow: boolean } {
  const spent = take(record ?? fullBucket(config, now), now, config);
  const empty = spent.bucket.tokens < 1;
  const wasPenalized = record?.penalized ?? false;
  return {
    record: { ...spent.bucket, penalized: wasPenalized || empty },
    penalizedNow: empty && !wasPenalized,
  };
}

/** A source whose bucket has refilled can be forgotten: it is as good as never struck. */
export function forgiven(record: SourceRecord, now: number, config: PenaltyConfig): boolean {
  return refill(record, now, config).tokens >= config.burst;
}
