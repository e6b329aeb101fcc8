import type { Prefix } from './cidr.js';

const BITS = { 4: 32, 6: 128 } as const;

interface Entry<T> {
  prefix: Prefix;
  owner: T;
}

/**
 * Prefixes with an owner, answering "does this prefix overlap any claimed one?" without comparing against all
 * of them: two prefixes overlap only when one contains the other, so it looks up the prefix's ancestors by key
 * and its descendants by a range search over networks kept sorted. Planning 1,000 peers stays linear-ish.
 */
export class PrefixSet<T> {
  private readonly byKey = new Map<string, Entry<T>>();
  private readonly sorted: { 4: Entry<T>[]; 6: Entry<T>[] } = { 4: [], 6: [] };
  /** Prefix lengths in use per family, longest first: ancestors are only looked up at these lengths. */
  private readonly lengths: { 4: number[]; 6: number[] } = { 4: [], 6: [] };

  add(prefix: Prefix, owner: T): void {
    const entry = { prefix, owner };
    this.byKey.set(key(prefix), entry);
    const list = this.sorted[prefix.family];
    list.splice(lowerBound(list, prefix.network), 0, entry);
    const lengths = this.lengths[prefix.family];
    if (!lengths.includes(prefix.length)) {
      lengths.push(prefix.length);
      lengths.sort((a, b) => b - a);
    }
  }

  findOverlap(prefix: Prefix): Entry<T> | undefined {
    const bits = BITS[prefix.family];
    // An existing prefix that contains this one (this one's ancestors, itself included).
    for (const length of this.lengths[prefix.family]) {
      if (length > prefix.length) continue;
      const hostMask = (1n << BigInt(bits - length)) - 1n;
      const found = this.byKey.get(
        key({ family: prefix.family, network: prefix.network & ~hostMask, length }),
      );
      if (found) return found;
    }
    // An existing prefix inside this one: its network lies in [network, broadcast].
    const list = this.sorted[prefix.family];
    const last = prefix.network | ((1n << BigInt(bits - prefix.length)) - 1n);
    const i = lowerBound(list, prefix.network);
    const candidate = list[i];
    return candidate && candidate.prefix.network <= last ? candidate : undefined;
  }
}

function key(prefix: Prefix): string {
  return `${prefix.family}/${prefix.length}/${prefix.network}`;
}

function lowerBound<T>(list: readonly Entry<T>[], network: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.prefix.network < network) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
