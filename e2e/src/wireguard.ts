import type { LabProcess } from './exec/process.js';
import type { LabHost } from './host.js';

export interface WgKeys {
  privateKey: string;
  publicKey: string;
}

export interface WgPeer {
  publicKey: string;
  endpoint?: string;
  allowedIPs: string[];
  persistentKeepalive?: number;
}

export interface WgInterface {
  iface: string;
  keys: WgKeys;
  listenPort: number;
  /** CIDR on the tunnel interface. */
  address: string;
  peers?: WgPeer[];
}

/** A fresh key pair from `wg genkey | wg pubkey` inside `host`. */
export async function wgKeys(host: LabHost): Promise<WgKeys> {
  const privateKey = (await host.exec(['wg', 'genkey'])).stdout.trim();
  const publicKey = (await host.exec(['wg', 'pubkey'], { input: `${privateKey}\n` })).stdout.trim();
  return { privateKey, publicKey };
}

/**
 * Starts wireguard-go in `host` and configures it with wg-tools by hand (the way the smoke tests and
 * anyone debugging would): key, port, peers, tunnel address, link up.
 */
export async function wgUp(host: LabHost, config: WgInterface): Promise<LabProcess> {
  const daemon = await host.wireguardGo(config.iface);
  // The private key goes through a file in the host's private wireguard dir; it never appears in argv.
  const keyFile = `/run/wireguard/${config.iface}.key`;
  await host.exec(['sh', '-c', `umask 077 && cat > ${keyFile}`], { input: `${config.keys.privateKey}\n` });
  await host.exec([
    'wg',
    'set',
    config.iface,
    'private-key',
    keyFile,
    'listen-port',
    String(config.listenPort),
  ]);
  for (const peer of config.peers ?? []) await wgSetPeer(host, config.iface, peer);
  await host.exec(['ip', 'address', 'add', config.address, 'dev', config.iface]);
  await host.exec(['ip', 'link', 'set', config.iface, 'up']);
  return daemon;
}

export async function wgSetPeer(host: LabHost, iface: string, peer: WgPeer): Promise<void> {
  const argv = ['wg', 'set', iface, 'peer', peer.publicKey, 'allowed-ips', peer.allowedIPs.join(',')];
  if (peer.endpoint) argv.push('endpoint', peer.endpoint);
  if (peer.persistentKeepalive !== undefined)
    argv.push('persistent-keepalive', String(peer.persistentKeepalive));
  await host.exec(argv);
}

/** Seconds since the epoch of each peer's latest handshake (0 = never). */
export async function wgLatestHandshakes(host: LabHost, iface: string): Promise<Map<string, number>> {
  const { stdout } = await host.exec(['wg', 'show', iface, 'latest-handshakes']);
  const handshakes = new Map<string, number>();
  for (const line of stdout.trim().split('\n')) {
    const [key, seconds] = line.split('\t');
    if (key && seconds) handshakes.set(key, Number(seconds));
  }
  return handshakes;
}
