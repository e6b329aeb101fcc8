// Cost of one WireGuard apply's CPU work for a large mesh: the shared diff, the kernel genl encoding (and its
// decode), and the UAPI text. Each is reported as a median over several runs and as a ratio to a baseline
// measured in the same run (JSON.stringify of the same update), so the numbers compare across machines.
// The last line of output is one JSON object.
import { performance } from 'node:perf_hooks';
import { generateKeyPair } from '../src/keys/x25519.js';
import { planDevice } from '../src/wireguard/diff.js';
import { decodeDeviceMessages } from '../src/wireguard/kernel/decode.js';
import { encodeSetDevice } from '../src/wireguard/kernel/encode.js';
import type { DesiredDevice, DeviceState } from '../src/wireguard/types.js';
import { formatSetRequest } from '../src/wireguard/userspace/protocol.js';

const PEERS = 1000;
const RUNS = 9;

const keys = Array.from({ length: PEERS }, () => generateKeyPair().publicKey);
const desired: DesiredDevice = {
  privateKey: generateKeyPair().privateKey,
  listenPort: 51820,
  fwmark: 0x574b,
  peers: keys.map((publicKey, i) => ({
    publicKey,
    endpoint: `198.51.100.${i % 250}:${20000 + i}`,
    persistentKeepalive: 25,
    allowedIPs: [`10.${i >> 8}.${i & 255}.1/32`, `172.${16 + (i % 16)}.${i & 255}.0/24`],
  })),
};
const empty: DeviceState = { name: 'wg0', listenPort: 0, fwmark: 0, peers: [] };
const fullUpdate = planDevice(empty, desired).update;
if (!fullUpdate) throw new Error('expected a full update');
// The steady state of a reconcile loop: the device matches except 1% of peers.
const actual: DeviceState = {
  name: 'wg0',
  privateKey: desired.privateKey,
  listenPort: 51820,
  fwmark: 0x574b,
  peers: desired.peers.map((peer, i) => ({
    publicKey: peer.publicKey,
    endpoint: peer.endpoint,
    persistentKeepalive: 25,
    allowedIPs: i % 100 === 0 ? [] : peer.allowedIPs.map((cidr) => cidr.replace(/\.1\/32$/, '.1/32')),
    rxBytes: 0,
    txBytes: 0,
  })),
};
const messages = encodeSetDevice('wg0', fullUpdate);

function median(fn: () => unknown): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)] as number;
}

const baseline = median(() => JSON.stringify(fullUpdate));
const results = {
  planSteadyState: median(() => planDevice(actual, desired)),
  planFromEmpty: median(() => planDevice(empty, desired)),
  kernelEncode: median(() => encodeSetDevice('wg0', fullUpdate)),
  kernelDecode: median(() => decodeDeviceMessages(messages)),
  uapiFormat: median(() => formatSetRequest(fullUpdate)),
};
const steady = planDevice(actual, desired);
for (const [name, ms] of Object.entries(results)) {
  console.log(`${name.padEnd(16)} ${ms.toFixed(2)} ms  (${(ms / baseline).toFixed(1)}× baseline)`);
}
console.log(
  JSON.stringify({
    bench: '@wirekube/netlink wireguard',
    peers: PEERS,
    runs: RUNS,
    baselineMs: Number(baseline.toFixed(3)),
    medianMs: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number(v.toFixed(3))])),
    ratioToBaseline: Object.fromEntries(
      Object.entries(results).map(([k, v]) => [k, Number((v / baseline).toFixed(2))]),
    ),
    kernelMessages: messages.length,
    steadyStatePeersUpdated: steady.result.updated.length,
  }),
);
