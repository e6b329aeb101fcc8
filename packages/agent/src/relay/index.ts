export {
  type DesiredRelay,
  RelayConnection,
  type RelayConnectionOptions,
  type RelayLink,
  type RelayView,
} from './connection.js';
export { KubeRelayServiceReader, type RelayServiceReader } from './services.js';
export {
  externalTarget,
  managedTarget,
  needsNodeAddresses,
  type RelayLookup,
  type RelayTarget,
  RelayTargetError,
  relayLookup,
} from './target.js';
