// Bad input for a relay, the mix the relay's bench:garbage and the lab's chaos fuzzer (e2e/src/chaos/relay-fuzzer.ts)
// both send: what one garbage connection writes, and how long it stays connected before it hangs up itself.
import { randomBytes, randomInt } from 'node:crypto';

export const KINDS = [
  'random',
  'truncated',
  'oversized',
  'zero-length',
  'unknown-type',
  'slow-header',
  'random-register',
] as const;
export type Kind = (typeof KINDS)[number];

/** Gap between the bytes of a trickled (slow-header) frame. */
export const TRICKLE_MS = 50;

/** How long an attempt stays connected at most, from its start. */
export const attemptMs = (kind: Kind): number =>
  (kind === 'slow-header' ? 37 * TRICKLE_MS : 0) + (kind === 'truncated' ? 500 : 100);

function frame(type: number, body: Buffer, declared = body.length + 1): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declared >>> 0, 0);
  header.writeUInt8(type, 4);
  return Buffer.concat([header, body]);
}

/** The writes of one attempt; slow-header's are single bytes, written TRICKLE_MS apart by the caller. */
export function payload(kind: Kind): Buffer[] {
  switch (kind) {
    case 'random':
      return [randomBytes(randomInt(1, 4096))];
    case 'truncated':
      // A full Data frame declared, a sliver sent, then quiet until the hang-up.
      return [frame(0x02, randomBytes(randomInt(1, 40)), randomInt(100, 65_536))];
    case 'oversized':
      return [frame(0x02, Buffer.alloc(0), randomInt(65_537, 0x7fffffff)), randomBytes(64 * 1024)];
    case 'zero-length':
      return [Buffer.from([0, 0, 0, 0]), randomBytes(16)];
    case 'unknown-type':
      return [frame(randomInt(0x04, 0xff), randomBytes(randomInt(0, 512)))];
    case 'slow-header':
      return [...frame(0x01, randomBytes(32))].map((b) => Buffer.from([b]));
    case 'random-register': {
      const register = frame(0x01, randomBytes(32));
      const data = Array.from({ length: 20 }, () =>
        frame(0x02, Buffer.concat([randomBytes(32), randomBytes(randomInt(0, 1400))])),
      );
      return [register, ...data, frame(0x02, randomBytes(32), 70_000)];
    }
  }
}
