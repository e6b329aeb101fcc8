import { MAIN_TABLE } from '@wirekube/crd-types';
import { formatIp, tryParseEndpoint, tryParseIp } from '@wirekube/netlink/net';
import type { DesiredRule } from './types.js';

/**
 * Ahead of the fwmark rule (199) and of table 22347 (200): a protected address is looked up in the main table
 * before any tunnel route can claim it, whatever a peer's allowedIPs say (DESIGN.md lesson 1).
 */
export const PROTECT_RULE_PRIORITY = 198;

/**
 * Pure: one `to <addr>/32 lookup main` (or /128) rule per protected address, deduplicated, in a stable order.
 * Addresses that are not literal IPs are ignored here; the inputs are validated where they are read.
 */
export function protectRules(addresses: readonly string[]): DesiredRule[] {
  const unique = new Map<string, DesiredRule>();
  for (const text of addresses) {
    const ip = tryParseIp(text);
    if (!ip) continue;
    const address = formatIp(ip.bytes);
    const destination = `${address}/${ip.family === 4 ? 32 : 128}`;
    unique.set(destination, {
      family: ip.family,
      priority: PROTECT_RULE_PRIORITY,
      table: MAIN_TABLE,
      destination,
    });
  }
  return [...unique.values()].sort((a, b) => a.family - b.family || compare(a.destination!, b.destination!));
}

/**
 * Addresses kept on the main table, read at every pass: the API server's watched endpoints, the relays (the
 * relay path feeds its own). A change should trigger a pass.
 */
export interface ProtectedAddressSource {
  addresses(): readonly string[];
}

/** A protected-address list that is not a list of IPs: names the flag or variable it came from. */
export class ProtectedAddressError extends Error {
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field}: "${value}" is not an IP address or IP:port`);
    this.name = 'ProtectedAddressError';
  }
}

/** Parses `10.0.0.5,10.0.0.6:6443,[2001:db8::1]:6443,2001:db8::2` into addresses; empty items are ignored. */
export function parseAddressList(text: string, field: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const ip = tryParseIp(item) ?? tryParseEndpoint(item);
    if (!ip) throw new ProtectedAddressError(field, item);
    out.push(formatIp(ip.bytes));
  }
  return out;
}

/** What matters of a discovery.k8s.io/v1 EndpointSlice here. */
export interface EndpointSliceLike {
  addressType?: string;
  endpoints?: ReadonlyArray<{ addresses?: readonly string[]; conditions?: { ready?: boolean } }>;
}

/**
 * The API server's real addresses from the `kubernetes` Service's EndpointSlices: in-cluster the kubeconfig
 * only names the ClusterIP, which a tunnel route never covers, while these are the control-plane nodes'
 * addresses that a peer's allowedIPs may well cover. Endpoints marked not ready are kept too: a restarting
 * API server must stay reachable.
 */
export function apiServerSliceAddresses(slices: readonly EndpointSliceLike[]): string[] {
  const out = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    for (const endpoint of slice.endpoints ?? []) {
      for (const address of endpoint.addresses ?? []) {
        const ip = tryParseIp(address);
        if (ip) out.add(formatIp(ip.bytes));
      }
    }
  }
  return [...out].sort(compare);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
