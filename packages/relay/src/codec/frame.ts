/**
 * The relay frame layout (DESIGN.md, "Relay wire protocol"):
 *
 *   [u32 big-endian length N][u8 type][N-1 bytes body],  1 <= N <= 65536
 *
 * The four core frames are byte-exact with any other implementation of this framing. Extension frames use types
 * that a core peer never sends and are only ever sent after both sides agreed on them (see extensions.ts).
 */
import { RelayArgumentError } from '../errors.js';

export const HEADER_SIZE = 4;
/** Length prefix + type byte: the offset of the body inside a frame. */
export const BODY_OFFSET = 5;
export const KEY_SIZE = 32;
export const MIN_FRAME_LENGTH = 1;
export const MAX_FRAME_LENGTH = 65536;
/** The largest body a frame can carry (N - 1). */
export const MAX_BODY_SIZE = MAX_FRAME_LENGTH - 1;
/** The largest datagram a Data frame can carry after its 32-byte key. */
export const MAX_DATAGRAM_SIZE = MAX_BODY_SIZE - KEY_SIZE;

export const FrameType = {
  // Core.
  Register: 0x01,
  Data: 0x02,
  Keepalive: 0x03,
  Error: 0xff,
  // Extensions (negotiated).
  Hello: 0x10,
  Welcome: 0x11,
  AuthChallenge: 0x20,
  AuthProof: 0x21,
  AuthOk: 0x22,
  Ping: 0x30,
  Pong: 0x31,
  Control: 0x40,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const CORE_TYPES = new Set<number>([
  FrameType.Register,
  FrameType.Data,
  FrameType.Keepalive,
  FrameType.Error,
]);

export function isCoreFrameType(type: number): boolean {
  return CORE_TYPES.has(type);
}

export function frameTypeName(type: number): string {
  for (const [name, value] of Object.entries(FrameType)) if (value === type) return name;
  return `0x${type.toString(16).padStart(2, '0')}`;
}

function assertKey(key: Uint8Array, argument: string): void {
  if (key.length !== KEY_SIZE) {
    throw new RelayArgumentError(`${argument} must be ${KEY_SIZE} bytes, got ${key.length}`, argument);
  }
}

/** One frame with an arbitrary type and body. */
export function encodeFrame(type: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  if (body.length > MAX_BODY_SIZE) {
    throw new RelayArgumentError(`frame body of ${body.length} bytes exceeds ${MAX_BODY_SIZE}`, 'body');
  }
  const frame = Buffer.allocUnsafe(BODY_OFFSET + body.length);
  frame.writeUInt32BE(body.length + 1, 0);
  frame[HEADER_SIZE] = type;
  frame.set(body, BODY_OFFSET);
  return frame;
}

export function encodeRegister(publicKey: Uint8Array): Buffer {
  assertKey(publicKey, 'publicKey');
  return encodeFrame(FrameType.Register, publicKey);
}

/** A Data frame: to the relay `key` is the destination, from the relay it is the source. */
export function encodeData(key: Uint8Array, datagram: Uint8Array): Buffer {
  assertDataArguments(key, datagram);
  const frame = Buffer.allocUnsafe(BODY_OFFSET + KEY_SIZE + datagram.length);
  writeDataHeader(frame, 0, key, datagram.length);
  frame.set(datagram, BODY_OFFSET + KEY_SIZE);
  return frame;
}

/** Throws RelayArgumentError unless `key` is a key and `datagram` fits one Data frame. */
export function assertDataArguments(key: Uint8Array, datagram: Uint8Array): void {
  assertKey(key, 'key');
  if (datagram.length > MAX_DATAGRAM_SIZE) {
    throw new RelayArgumentError(
      `datagram of ${datagram.length} bytes exceeds ${MAX_DATAGRAM_SIZE}`,
      'datagram',
    );
  }
}

/**
 * Writes the 37-byte header of a Data frame (length, type, key) at `offset`, for callers that lay several frames
 * out in one buffer and fill the datagrams themselves.
 */
export function writeDataHeader(
  target: Buffer,
  offset: number,
  key: Uint8Array,
  datagramLength: number,
): void {
  target.writeUInt32BE(1 + KEY_SIZE + datagramLength, offset);
  target[offset + HEADER_SIZE] = FrameType.Data;
  target.set(key, offset + BODY_OFFSET);
}

export const DATA_HEADER_SIZE = BODY_OFFSET + KEY_SIZE;

const KEEPALIVE = encodeFrame(FrameType.Keepalive);

export function encodeKeepalive(): Buffer {
  return KEEPALIVE;
}

/** An Error frame; text longer than a frame allows is cut at a UTF-8 character boundary. */
export function encodeError(text: string): Buffer {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_BODY_SIZE) {
    let end = MAX_BODY_SIZE;
    // Step back over UTF-8 continuation bytes so the cut never splits a character.
    while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  return encodeFrame(FrameType.Error, bytes);
}

/** A decoded frame. `body` is a view into the received bytes: copy it to keep it past the callback. */
export interface Frame {
  type: number;
  body: Buffer;
}
