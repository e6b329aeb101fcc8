/**
 * Extension frames and their negotiation.
 *
 *   client → relay   Register(key)            core, always first
 *   client → relay   Hello(ext ids...)        only an extension-aware client, right after Register
 *   relay  → client  Welcome(ext ids...)      only in answer to Hello: the subset the relay enables
 *   relay  → client  AuthChallenge(E, nonce)  if 'auth' was agreed
 *   client → relay   AuthProof(mac)
 *   relay  → client  AuthOk()
 *   either direction Ping(token) / Pong(token) if 'ping' was agreed
 *   either direction Control(key, payload)    if 'control' was agreed: to the relay key = destination, from the
 *                                             relay key = source (agent-to-agent messages, e.g. path upgrades)
 *
 * A relay never sends an extension frame to a client that did not say Hello, so a core-only client sees only core
 * frames. A core-only relay answers Hello with an Error frame (unknown type) or not at all; the client then falls
 * back to the core for that connection.
 */
import { RelayArgumentError, RelayProtocolError } from '../errors.js';
import { BODY_OFFSET, encodeFrame, FrameType, HEADER_SIZE, KEY_SIZE } from './frame.js';

export const Extension = {
  /** Key ownership by X25519 challenge-response (auth/proof.ts). */
  Auth: 0x01,
  /** Ping/pong liveness in both directions. */
  Ping: 0x02,
  /** Small opaque agent-to-agent messages routed by key, like Data but never handed to WireGuard. */
  Control: 0x03,
} as const;
export type Extension = (typeof Extension)[keyof typeof Extension];

export const ALL_EXTENSIONS: readonly Extension[] = [Extension.Auth, Extension.Ping, Extension.Control];

export const NONCE_SIZE = 32;
export const PROOF_SIZE = 32;
export const PING_TOKEN_SIZE = 8;
/** The largest payload a Control frame carries after its 32-byte key. */
export const MAX_CONTROL_PAYLOAD = 1024;

/** Hello and Welcome: one byte per extension id. Unknown ids are ignored so the list can grow. */
export function encodeExtensionList(
  type: typeof FrameType.Hello | typeof FrameType.Welcome,
  ids: readonly number[],
) {
  return encodeFrame(type, Uint8Array.from(ids));
}

export function encodeHello(ids: readonly number[]): Buffer {
  return encodeExtensionList(FrameType.Hello, ids);
}

export function encodeWelcome(ids: readonly number[]): Buffer {
  return encodeExtensionList(FrameType.Welcome, ids);
}

/** The known extension ids in a Hello/Welcome body, without duplicates. */
export function parseExtensionList(body: Uint8Array): Extension[] {
  const known = new Set<number>(ALL_EXTENSIONS);
  const out = new Set<Extension>();
  for (const id of body) if (known.has(id)) out.add(id as Extension);
  return [...out];
}

export interface AuthChallenge {
  /** The relay's ephemeral X25519 public key for this connection. */
  ephemeralPublicKey: Buffer;
  nonce: Buffer;
}

export function encodeAuthChallenge(challenge: AuthChallenge): Buffer {
  return encodeFrame(FrameType.AuthChallenge, Buffer.concat([challenge.ephemeralPublicKey, challenge.nonce]));
}

export function parseAuthChallenge(body: Buffer): AuthChallenge {
  if (body.length !== KEY_SIZE + NONCE_SIZE) {
    throw new RelayProtocolError(
      `AuthChallenge body must be ${KEY_SIZE + NONCE_SIZE} bytes, got ${body.length}`,
      'auth',
      FrameType.AuthChallenge,
    );
  }
  return {
    ephemeralPublicKey: Buffer.from(body.subarray(0, KEY_SIZE)),
    nonce: Buffer.from(body.subarray(KEY_SIZE)),
  };
}

export function encodeAuthProof(proof: Uint8Array): Buffer {
  return encodeFrame(FrameType.AuthProof, proof);
}

export function encodeAuthOk(): Buffer {
  return encodeFrame(FrameType.AuthOk);
}

export function encodePing(token: Uint8Array): Buffer {
  return encodeFrame(FrameType.Ping, token);
}

export function encodePong(token: Uint8Array): Buffer {
  return encodeFrame(FrameType.Pong, token);
}

/** A Control frame: to the relay `key` is the destination, from the relay it is the source. */
export function encodeControl(key: Uint8Array, payload: Uint8Array): Buffer {
  if (key.length !== KEY_SIZE) {
    throw new RelayArgumentError(`control key must be ${KEY_SIZE} bytes, got ${key.length}`, 'peerKey');
  }
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw new RelayArgumentError(
      `control payload of ${payload.length} bytes exceeds ${MAX_CONTROL_PAYLOAD}`,
      'payload',
    );
  }
  const frame = Buffer.allocUnsafe(BODY_OFFSET + KEY_SIZE + payload.length);
  frame.writeUInt32BE(1 + KEY_SIZE + payload.length, 0);
  frame[HEADER_SIZE] = FrameType.Control;
  frame.set(key, BODY_OFFSET);
  frame.set(payload, BODY_OFFSET + KEY_SIZE);
  return frame;
}

export interface ControlMessage {
  /** Views into the frame body: copy them to keep them. */
  key: Buffer;
  payload: Buffer;
}

/** Splits a Control body; a body without a whole key or with an oversized payload is a protocol error. */
export function parseControl(body: Buffer): ControlMessage {
  if (body.length < KEY_SIZE || body.length - KEY_SIZE > MAX_CONTROL_PAYLOAD) {
    throw new RelayProtocolError(
      `Control body must be a ${KEY_SIZE}-byte key and at most ${MAX_CONTROL_PAYLOAD} payload bytes, got ${body.length} bytes`,
      'control',
      FrameType.Control,
    );
  }
  return { key: body.subarray(0, KEY_SIZE), payload: body.subarray(KEY_SIZE) };
}
