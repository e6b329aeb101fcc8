// Codec (shared with the agent).

// Keys and the ownership proof.
export {
  generateRawKeyPair,
  keyFromBase64,
  keyToBase64,
  publicKeyOf,
  type RawKeyPair,
} from './auth/keys.js';
export { computeProof, createChallenge, type PendingChallenge, verifyProof } from './auth/proof.js';
// Agent side: client, pool, UDP proxy.
export { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './client/backoff.js';
export {
  RelayClient,
  type RelayClientCounters,
  type RelayClientOptions,
  type RelayClientState,
  type StateListener,
} from './client/client.js';
export { RelayPool, type RelayPoolOptions, type Resolver, systemResolver } from './client/pool.js';
export type { DataListener, RelayTransport } from './client/transport.js';
export { FrameDecoder, type FrameRangeHandler } from './codec/decoder.js';
export {
  ALL_EXTENSIONS,
  type AuthChallenge,
  Extension,
  encodeAuthChallenge,
  encodeAuthOk,
  encodeAuthProof,
  encodeHello,
  encodePing,
  encodePong,
  encodeWelcome,
  NONCE_SIZE,
  PING_TOKEN_SIZE,
  PROOF_SIZE,
  parseAuthChallenge,
  parseExtensionList,
} from './codec/extensions.js';
export {
  BODY_OFFSET,
  DATA_HEADER_SIZE,
  encodeData,
  encodeError,
  encodeFrame,
  encodeKeepalive,
  encodeRegister,
  type Frame,
  FrameType,
  frameTypeName,
  HEADER_SIZE,
  isCoreFrameType,
  KEY_SIZE,
  MAX_BODY_SIZE,
  MAX_DATAGRAM_SIZE,
  MAX_FRAME_LENGTH,
  MIN_FRAME_LENGTH,
  writeDataHeader,
} from './codec/frame.js';
// Shared.
export {
  FrameLengthError,
  RelayArgumentError,
  RelayAuthError,
  RelayConnectionError,
  RelayProtocolError,
} from './errors.js';
export { parseConfig, type RelayProgramConfig, USAGE } from './program/config.js';
export { createRelayMetrics } from './program/metrics.js';
export { type RunningRelay, runRelay } from './program/run.js';
export {
  type PeerProxyCounters,
  type ProxyEndpoint,
  UdpProxy,
  type UdpProxyOptions,
} from './proxy/udp-proxy.js';
export type { RelayServerOptions } from './server/options.js';
// Relay side.
export { RelayServer } from './server/server.js';
export { DROP_REASONS, type DropReason, type RelayStats } from './server/stats.js';
export { realTimers, type TimerHandle, type Timers } from './timers.js';
