export {
  type DiscardSink,
  type FuzzCounts,
  type RelayFuzzer,
  startDiscardSink,
  startRelayFuzzer,
} from './fuzz.js';
export { iperf, median, startIperfServer } from './iperf.js';
export {
  CHAOS_MATRIX,
  CHAOS_NODES,
  ChaosMesh,
  type ChaosNode,
  RELAY_PORT,
} from './mesh-lab.js';
export { longestGap, type Pinger, type PingRecord, parsePing, startPinger } from './pinger.js';
export { cpuSeconds, pidsInNetns, rssBytes } from './processes.js';
