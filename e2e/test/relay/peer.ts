// Runs inside a lab host: the relay client and UDP proxy the agent will embed, standing alone. Configured by
// environment, reports on stdout as JSON lines (pino logs of the client, plus `proxy` lines with the local port
// for each peer, and a `result` line in thief mode).
//
//   RELAY_HOST, RELAY_PORT       the relay
//   PUBLIC_KEY, PRIVATE_KEY      this node's WireGuard keys, base64 (PRIVATE_KEY optional: no auth offered)
//   PEERS                        comma-separated base64 public keys to open proxies for
//   WG_PORT                      local wireguard-go's listen port
//   EXTENSIONS=false             speak only the four core frames
//   MODE=thief                   instead: try to register PUBLIC_KEY with a wrong private key (auth) or
//                                without one (core), print what the relay answered, exit
//   THIEF_SILENT=true            (core thief) send only Register and wait, as a core client without traffic does
import { connect } from 'node:net';
import { generateRawKeyPair, keyFromBase64, keyToBase64, RelayClient, UdpProxy } from '@wirekube/relay';
import {
  computeProof,
  Extension,
  encodeAuthProof,
  encodeData,
  encodeHello,
  encodeRegister,
  FrameDecoder,
  FrameType,
  parseAuthChallenge,
} from '@wirekube/relay/internals';
import { pino } from 'pino';

const env = process.env;
const host = env.RELAY_HOST ?? '127.0.0.1';
const port = Number(env.RELAY_PORT ?? 3478);
const publicKey = keyFromBase64(env.PUBLIC_KEY ?? '');

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** A client that claims someone else's key. Reports the Error texts the relay sends and whether it closed. */
async function thief(withAuth: boolean, silent: boolean): Promise<void> {
  const socket = connect({ host, port });
  let connectedAt = 0;
  const decoder = new FrameDecoder();
  const errors: string[] = [];
  const wrongKey = generateRawKeyPair().privateKey;
  let authOk = false;
  socket.on('connect', () => {
    connectedAt = Date.now();
    const claim = withAuth
      ? encodeHello([Extension.Auth])
      : silent
        ? Buffer.alloc(0)
        : encodeData(generateRawKeyPair().publicKey, Buffer.from('hijack'));
    socket.write(Buffer.concat([encodeRegister(publicKey), claim]));
  });
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.decode(chunk)) {
      if (frame.type === FrameType.Error) errors.push(frame.body.toString());
      if (frame.type === FrameType.AuthOk) authOk = true;
      if (frame.type === FrameType.AuthChallenge) {
        const challenge = parseAuthChallenge(frame.body);
        socket.write(
          encodeAuthProof(computeProof(wrongKey, publicKey, challenge.ephemeralPublicKey, challenge.nonce)),
        );
      }
    }
  });
  socket.on('error', () => undefined);
  const closed = await Promise.race([
    new Promise<boolean>((resolve) => socket.on('close', () => resolve(true))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000).unref()),
  ]);
  print({ event: 'result', withAuth, closed, closedAfterMs: Date.now() - connectedAt, authOk, errors });
  socket.destroy();
}

async function peer(): Promise<void> {
  const logger = pino({ level: 'info', base: { component: 'relay-peer' } });
  const client = new RelayClient({
    host,
    port,
    publicKey,
    // The ownership proof is on whenever the node has its private key (it always has, in the agent).
    ...(env.PRIVATE_KEY ? { privateKey: keyFromBase64(env.PRIVATE_KEY) } : { auth: false }),
    extensions: env.EXTENSIONS !== 'false',
    logger,
  });
  const proxy = new UdpProxy({ relay: client, wireguardPort: Number(env.WG_PORT ?? 51820), logger });
  for (const key of (env.PEERS ?? '').split(',').filter(Boolean)) {
    const endpoint = await proxy.addPeer(keyFromBase64(key));
    print({ event: 'proxy', peer: key, port: endpoint.port });
  }
  client.onState((state) => print({ event: 'state', state, at: Date.now() }));
  client.start();
  const stop = async () => {
    client.close();
    await proxy.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Counters for the test to read from the output.
  setInterval(() => {
    for (const key of proxy.peerKeys())
      print({ event: 'counters', peer: keyToBase64(key), ...proxy.counters(key) });
  }, 1_000).unref();
}

if (env.MODE === 'thief') await thief(env.THIEF_AUTH !== 'false', env.THIEF_SILENT === 'true');
else await peer();
