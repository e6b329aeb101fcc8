import { bitsOf, type Cidr, maskCidr } from '@wirekube/netlink/net';

interface Entry<T> {
  prefix: Cidr;
  owner: T;
}

/**
 * Prefixes with an owner, answering "does this prefix overlap any claimed one?" without comparing against all
 * of them: two prefixes overlap only when one contains the other, so it looks up the prefix's ancestors by key
 * and its descendants by a range search over networks kept sorted. Planning 1,000 peers stays linear-ish.
 * Prefixes are expected masked (host bits clear).
 */
export class PrefixSet<T> {
  private readonly byKey = new Map<string, Entry<T>>();
  private readonly sorted: { 4: Entry<T>[]; 6: Entry<T>[] } = { 4: [], 6: [] };
  /** Prefix lengths in use per family, longest first: ancestors are only looked up at these lengths. */
  private readonly lengths: { 4: number[]; 6: number[] } = { 4: [], 6: [] };

  add(prefix: Cidr, owner: T): void {
    const entry = { prefix, owner };
    this.byKey.set(key(prefix), entry);
    const list = this.sorted[prefix.family];
    list.splice(lowerBound(list, prefix.bytes), 0, entry);
    const lengths = this.lengths[prefix.family];
    if (!lengths.includes(prefix.prefix)) {
      lengths.push(prefix.prefix);
      lengths.sort((a, b) => b - a);
    }
  }

  findOverlap(prefix: Cidr): Entry<T> | undefined {
    // An existing prefix that contains this one (this one's ancestors, itself included).
    for (const length of this.lengths[prefix.family]) {
      if (length > prefix.prefix) continue;
      const found = this.byKey.get(key(maskCidr({ ...prefix, prefix: length })));
      if (found) return found;
    }
    // An existing prefix inside this one: its network lies in [network, broadcast].
    const list = this.sorted[prefix.family];
    const last = broadcast(prefix);
    const candidate = list[lowerBound(list, prefix.bytes)];
    return candidate && Buffer.compare(candidate.prefix.bytes, last) <= 0 ? candidate : undefined;
  }
}

/** Length plus raw bytes: cheaper than text, and one family's prefixes all have bytes of one size. */
function key(prefix: Cidr): string {
  return `${prefix.prefix}/${prefix.bytes.toString('latin1')}`;
}

function broadcast(prefix: Cidr): Buffer {
  const out = Buffer.from(prefix.bytes);
  for (let bit = prefix.prefix; bit < bitsOf(prefix.family); bit++) {
    const index = bit >> 3;
    out[index] = (out[index] ?? 0) | (0x80 >> (bit & 7));
  }
  return out;
}

function lowerBound<T>(list: readonly Entry<T>[], network: Buffer): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(list[mid]!.prefix.bytes, network) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
