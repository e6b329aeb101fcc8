/**
 * @wirekube/relay/internals — the frame codecs, the ownership proof and the two handshake machines, for tests,
 * the lab and tools that speak the wire protocol by hand. Not a stable API: the agent uses `@wirekube/relay`.
 *
 * @example
 * ```ts
 * import { encodeHello, encodeRegister, Extension, FrameDecoder } from '@wirekube/relay/internals';
 *
 * socket.write(Buffer.concat([encodeRegister(publicKey), encodeHello([Extension.Auth])]));
 * for (const frame of new FrameDecoder().decode(chunk)) console.log(frame.type, frame.body.length);
 * ```
 */
export { computeProof, createChallenge, type PendingChallenge, verifyProof } from './auth/proof.js';
export * from './client/handshake.js';
export { FrameDecoder, type FrameRangeHandler } from './codec/decoder.js';
export * from './codec/extensions.js';
export * from './codec/frame.js';
export * from './server/handshake.js';
