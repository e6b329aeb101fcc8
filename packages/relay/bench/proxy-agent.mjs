// One agent's relay side for bench/proxy-path.ts, in its own process like in the agent: a RelayClient and a
// UdpProxy with one peer, imported from the build given on the command line (so two builds can be compared).
// argv: <dist dir> <relay port> <own key base64> <peer key base64> <wireguard port>
// Prints one JSON line {"proxyPort": n} once the client is ready; SIGTERM ends it.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, relayPort, ownKey, peerKey, wireguardPort] = process.argv.slice(2);
const relay = await import(pathToFileURL(join(dist, 'index.js')).href);
const own = relay.keyFromBase64(ownKey);
const client = new relay.RelayClient({
  host: '127.0.0.1',
  port: Number(relayPort),
  publicKey: relay.publicKeyOf(own),
  privateKey: own,
});
const proxy = new relay.UdpProxy({ relay: client, wireguardPort: Number(wireguardPort) });
const endpoint = await proxy.addPeer(relay.keyFromBase64(peerKey));
client.start();
await new Promise((resolve) => {
  const off = client.onState((state) => {
    if (state === 'ready') {
      off();
      resolve();
    }
  });
});
console.log(JSON.stringify({ proxyPort: endpoint.port }));
process.on('SIGTERM', () => {
  client.close();
  void proxy.close().then(() => process.exit(0));
});
