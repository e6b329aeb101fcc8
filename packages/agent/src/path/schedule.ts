import { createHash } from 'node:crypto';
import type { AttemptSlots } from './types.js';

/**
 * The upgrade slots of a pair: every `intervalMs`, at an offset derived from both public keys, so both agents
 * compute the same instants from the wall clock alone and punch through their NATs at once (address-and-port
 * filtering drops one side's packets unless the other side sent first). Different pairs get different offsets,
 * which spreads the attempts of a large mesh over the interval.
 */
export function attemptSlots(keyA: string, keyB: string, intervalMs: number, nowMs: number): AttemptSlots {
  const interval = Math.max(1_000, Math.round(intervalMs));
  const [low, high] = keyA < keyB ? [keyA, keyB] : [keyB, keyA];
  const digest = createHash('sha256').update(`${low}|${high}`).digest();
  const offset = digest.readUInt32BE(0) % interval;
  const currentMs = Math.floor((nowMs - offset) / interval) * interval + offset;
  return { currentMs, nextMs: currentMs + interval };
}
