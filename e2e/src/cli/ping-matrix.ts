// The playground's ping matrix over the mesh addresses: one ping per ordered pair, each cell the round trip and
// how the pair travels (d: direct, r: relay, as the sending node's WireKubePeer reports it).
import type { LabHost } from '../index.js';

/** `transports` maps `node-<from>>node-<to>` to d or r. */
export async function pingMatrix(
  hosts: readonly LabHost[],
  transports: ReadonlyMap<string, string> = new Map(),
): Promise<{ text: string; allOk: boolean }> {
  const cells = await Promise.all(
    hosts.map((from) =>
      Promise.all(
        hosts.map(async (to) => {
          if (from === to) return '·';
          const result = await from.exec(['ping', '-n', '-c', '1', '-W', '1', to.address], {
            allowFail: true,
          });
          const time = /time=([\d.]+) ms/.exec(result.stdout)?.[1];
          const via = transports.get(`node-${from.name}>node-${to.name}`) ?? '?';
          return time ? `${Number(time).toFixed(1)}ms ${via}` : '✗';
        }),
      ),
    ),
  );
  const width = Math.max(12, ...hosts.map((h) => h.name.length + 1));
  const pad = (s: string) => s.padEnd(width);
  const lines = [pad('from \\ to') + hosts.map((h) => pad(h.name)).join('')];
  hosts.forEach((h, i) => {
    lines.push(pad(h.name) + cells[i]!.map(pad).join(''));
  });
  const allOk = cells.every((row) => row.every((c) => c !== '✗'));
  return { text: lines.join('\n'), allOk };
}
