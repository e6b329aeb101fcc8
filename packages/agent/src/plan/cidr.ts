import { isIPv4, isIPv6 } from 'node:net';

/** An IP prefix as integers, so containment and overlap are exact for both families. */
export interface Prefix {
  family: 4 | 6;
  /** Network address with host bits cleared. */
  network: bigint;
  length: number;
}

const BITS = { 4: 32, 6: 128 } as const;

export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) {
    return {
      family: 4,
      value: text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n),
    };
  }
  if (isIPv6(text)) {
    const [head = '', tail = ''] = text.includes('::') ? text.split('::') : [text, ''];
    const parse = (part: string) => (part ? part.split(':') : []);
    let headGroups = parse(head);
    let tailGroups = parse(tail);
    // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
    const expand = (groups: string[]) =>
      groups.flatMap((g) => {
        if (!g.includes('.')) return [g];
        const v4 = parseAddress(g);
        return v4 ? [((v4.value >> 16n) & 0xffffn).toString(16), (v4.value & 0xffffn).toString(16)] : [g];
      });
    headGroups = expand(headGroups);
    tailGroups = expand(tailGroups);
    const missing = 8 - headGroups.length - tailGroups.length;
    const groups = [
      ...headGroups,
      ...Array<string>(text.includes('::') ? missing : 0).fill('0'),
      ...tailGroups,
    ];
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n) };
  }
  return undefined;
}

/** `10.0.0.5/32`, `2001:db8::/64`; a bare address is a host prefix. Undefined when malformed. */
export function parsePrefix(text: string): Prefix | undefined {
  const [addressText = '', lengthText] = text.split('/');
  const address = parseAddress(addressText);
  if (!address) return undefined;
  const bits = BITS[address.family];
  const length =
    lengthText === undefined ? bits : /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
  if (!(length >= 0 && length <= bits)) return undefined;
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  return { family: address.family, network: address.value & ~hostMask, length };
}

export function formatPrefix(prefix: Prefix): string {
  if (prefix.family === 4) {
    const octets = [24n, 16n, 8n, 0n].map((shift) => String((prefix.network >> shift) & 0xffn));
    return `${octets.join('.')}/${prefix.length}`;
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((prefix.network >> shift) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  const text =
    best.start < 0
      ? groups.join(':')
      : `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.len).join(':')}`;
  return `${text}/${prefix.length}`;
}

export function isHostPrefix(prefix: Prefix): boolean {
  return prefix.length === BITS[prefix.family];
}

export function containsAddress(prefix: Prefix, address: { family: 4 | 6; value: bigint }): boolean {
  if (prefix.family !== address.family) return false;
  const hostMask = (1n << BigInt(BITS[prefix.family] - prefix.length)) - 1n;
  return (address.value & ~hostMask) === prefix.network;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.length <= b.length ? a : b;
  const longer = shorter === a ? b : a;
  return containsAddress(shorter, { family: longer.family, value: longer.network });
}
