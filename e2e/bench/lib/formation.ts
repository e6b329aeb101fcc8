/** A mesh of N hosts across NAT kinds, and the check that every pair has handshaked and pings. */
import type { HostSpec, LabHost } from '../../src/index.js';

/** Public, cone and symmetric hosts in turn, each NATed host behind its own router. */
export function mixedHosts(count: number): HostSpec[] {
  const kinds = ['none', 'cone', 'symmetric'] as const;
  return Array.from({ length: count }, (_, i) => {
    const nat = kinds[i % 3] as (typeof kinds)[number];
    return { name: `${nat === 'none' ? 'p' : nat === 'cone' ? 'c' : 's'}${i}`, nat };
  });
}

/** How many of this host's WireGuard peers have handshaked at least once. */
export async function handshakedPeers(host: LabHost): Promise<number> {
  const { stdout } = await host.exec(['wg', 'show', 'wire_kube', 'latest-handshakes'], { allowFail: true });
  return stdout
    .trim()
    .split('\n')
    .filter((line) => Number(line.split('\t')[1] ?? 0) > 0).length;
}

/** The addresses this host could not ping (one ping each, in parallel, 2 s wait). */
export async function unreachable(host: LabHost, addresses: readonly string[]): Promise<string[]> {
  const script = `for a in ${addresses.join(' ')}; do (ping -n -q -c 1 -W 2 "$a" >/dev/null 2>&1 || echo "$a") & done; wait`;
  const { stdout } = await host.exec(['sh', '-c', script], { allowFail: true, timeoutMs: 30_000 });
  return stdout.split('\n').filter(Boolean);
}

export interface FormationState {
  handshaked: number;
  pairs: number;
  unreachable: number;
}

/** One look at the whole mesh: ordered pairs handshaked, and (only once all have) pairs that do not ping. */
export async function formation(hosts: readonly LabHost[]): Promise<FormationState> {
  const pairs = hosts.length * (hosts.length - 1);
  const counts = await Promise.all(hosts.map(handshakedPeers));
  const handshaked = counts.reduce((a, b) => a + Math.min(b, hosts.length - 1), 0);
  if (handshaked < pairs) return { handshaked, pairs, unreachable: pairs };
  const failed = await Promise.all(
    hosts.map((h) =>
      unreachable(
        h,
        hosts.filter((o) => o !== h).map((o) => o.address),
      ),
    ),
  );
  return { handshaked, pairs, unreachable: failed.reduce((a, f) => a + f.length, 0) };
}

/** Polls formation() until the mesh is whole; returns when it was first seen whole (ms since `sinceMs`). */
export async function waitFormed(
  hosts: readonly LabHost[],
  sinceMs: number,
  timeoutMs: number,
  onProgress: (state: FormationState) => void,
): Promise<number> {
  const deadline = sinceMs + timeoutMs;
  let last: FormationState | undefined;
  for (;;) {
    const state = await formation(hosts);
    if (JSON.stringify(state) !== JSON.stringify(last)) onProgress(state);
    last = state;
    if (state.handshaked === state.pairs && state.unreachable === 0) return Date.now() - sinceMs;
    if (Date.now() > deadline)
      throw new Error(`mesh not formed after ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
