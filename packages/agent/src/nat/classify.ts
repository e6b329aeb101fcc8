import type { NatType } from '@wirekube/crd-types';

/** What one STUN server said about our mapped address, or why it said nothing. */
export type StunObservation =
  | { server: string; mapped: { address: string; port: number } }
  | { server: string; error: string };

/**
 * NAT mapping behaviour (RFC 5780 §4.3) from binding answers sent from ONE local socket to several servers:
 * the same mapped address and port everywhere is endpoint-independent mapping (`cone`); any difference is
 * address- or address-and-port-dependent mapping (`symmetric`). Fewer than two answers prove nothing, so the
 * result is '' (undetermined) — a single answer is never taken for `cone` (DESIGN.md lesson 4).
 */
export function classifyNat(observations: readonly StunObservation[]): NatType {
  const answers = observations.flatMap((o) => ('mapped' in o ? [o.mapped] : []));
  if (answers.length < 2) return '';
  const first = answers[0]!;
  return answers.every((a) => a.address === first.address && a.port === first.port) ? 'cone' : 'symmetric';
}

/** The mapped address most servers agree on (the first answer on a tie); undefined without answers. */
export function mappedAddress(
  observations: readonly StunObservation[],
): { address: string; port: number } | undefined {
  const counts = new Map<string, { mapped: { address: string; port: number }; n: number }>();
  for (const o of observations) {
    if (!('mapped' in o)) continue;
    const key = `${o.mapped.address}|${o.mapped.port}`;
    const entry = counts.get(key) ?? { mapped: o.mapped, n: 0 };
    entry.n += 1;
    counts.set(key, entry);
  }
  let best: { mapped: { address: string; port: number }; n: number } | undefined;
  for (const entry of counts.values()) if (!best || entry.n > best.n) best = entry;
  return best?.mapped;
}
