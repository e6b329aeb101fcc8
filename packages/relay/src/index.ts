/**
 * @wirekube/relay — the agent's side of the relay path: a connection to the relay (or a pool of replicas) and the
 * local UDP proxy WireGuard talks to. The relay server program is `@wirekube/relay/server`; frame codecs and the
 * handshake machines, for tests and tools, are `@wirekube/relay/internals`.
 *
 * @example
 * ```ts
 * import { RelayPool, UdpProxy } from '@wirekube/relay';
 *
 * const relay = new RelayPool({ host: 'relay.example.com', port: 3478, publicKey, privateKey });
 * await relay.start();                          // one connection per resolved address, ownership proven
 * const proxy = new UdpProxy({ relay, wireguardPort: 51820 });
 * const { host, port } = await proxy.addPeer(peerKey);   // point WireGuard's endpoint for the peer here
 * relay.onControl((from, payload) => {});       // agent-to-agent messages (extension 'control')
 * relay.sendControl(peerKey, payload);          // false when not negotiated or not connected
 * ```
 */
export { generateRawKeyPair, keyFromBase64, keyToBase64, publicKeyOf, type RawKeyPair } from './auth/keys.js';
export { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './client/backoff.js';
export {
  RelayClient,
  type RelayClientCounters,
  type RelayClientOptions,
  type RelayClientState,
  type StateListener,
} from './client/client.js';
export { RelayPool, type RelayPoolOptions, type Resolver, systemResolver } from './client/pool.js';
export type { ControlListener, DataListener, RelayTransport } from './client/transport.js';
export { Extension, MAX_CONTROL_PAYLOAD } from './codec/extensions.js';
export { KEY_SIZE, MAX_DATAGRAM_SIZE } from './codec/frame.js';
export {
  FrameLengthError,
  RelayArgumentError,
  RelayAuthError,
  RelayConnectionError,
  RelayProtocolError,
} from './errors.js';
export {
  type PeerProxyCounters,
  type ProxyEndpoint,
  UdpProxy,
  type UdpProxyOptions,
} from './proxy/udp-proxy.js';
export { realTimers, type TimerHandle, type Timers } from './timers.js';
