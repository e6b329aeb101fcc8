/**
 * The liveness probe's datagram: 4-byte magic "WKPB", 1-byte kind (1 request, 2 reply), 8-byte token. It travels
 * inside the tunnel (to the peer's first AllowedIP), so an answer proves the path WireGuard uses right now.
 */
export const PROBE_PORT = 51819;
export const PROBE_SIZE = 13;
const MAGIC = 0x574b5042; // "WKPB"

export type ProbeKind = 'request' | 'reply';

export function encodeProbe(kind: ProbeKind, token: bigint): Buffer {
  const packet = Buffer.alloc(PROBE_SIZE);
  packet.writeUInt32BE(MAGIC, 0);
  packet.writeUInt8(kind === 'request' ? 1 : 2, 4);
  packet.writeBigUInt64BE(token, 5);
  return packet;
}

/** Undefined for anything that is not exactly a probe datagram (the responder ignores it). */
export function decodeProbe(packet: Buffer): { kind: ProbeKind; token: bigint } | undefined {
  if (packet.length !== PROBE_SIZE || packet.readUInt32BE(0) !== MAGIC) return undefined;
  const kind = packet.readUInt8(4);
  if (kind !== 1 && kind !== 2) return undefined;
  return { kind: kind === 1 ? 'request' : 'reply', token: packet.readBigUInt64BE(5) };
}
