import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { keyFromBase64, keyToBase64, type PeerProxyCounters, RelayPool, UdpProxy } from '@wirekube/relay';
import type { Logger } from 'pino';
import type { RelayTarget } from './target.js';

/** What the relay side of the node should be: a target (or none: no connection at all) and the peers it serves. */
export interface DesiredRelay {
  target?: RelayTarget;
  /** Base64 public keys of every peer that may be relayed: each gets a stable proxy port. */
  peers: readonly string[];
  /** Local WireGuard's listen port, where relayed datagrams are delivered. */
  wireguardPort: number;
}

export interface RelayConnectionOptions {
  publicKey: string;
  privateKey: string;
  log: Logger;
  /** Name → addresses (tests substitute it). Default: the system resolver (public DNS only is ever asked). */
  resolve?: (host: string) => Promise<string[]>;
}

/** The relay as the path machine sees it. */
export interface RelayView {
  readonly ready: boolean;
  /** The relay's current addresses: never routed into the tunnel (DESIGN.md lesson 1). */
  readonly addresses: readonly string[];
  proxyEndpoint(peerKey: string): string | undefined;
  proxyCounters(peerKey: string): PeerProxyCounters | undefined;
}

/** The relay side of the node as path selection drives it: one verb, `set(desired)`, and its view. */
export interface RelayLink extends RelayView {
  set(desired: DesiredRelay): Promise<void>;
  /** Brings the view up to date (a link in another process caches it); awaited before each path sample. */
  refresh?(): Promise<void>;
  /** Releases this process's hold on the link (the relay-link process itself keeps running). */
  close(): Promise<void>;
}

/**
 * The node's one relay connection (a RelayPool, one client per replica) and the UDP proxy WireGuard talks to,
 * behind one verb: `set(desired)`. Reconnects with the relay client's 1–30 s backoff; a new target replaces
 * the old connection, no target closes it.
 */
export class RelayConnection implements RelayLink {
  private pool?: RelayPool;
  private proxy?: UdpProxy;
  private targetKey?: string;
  private readonly endpoints = new Map<string, string>();

  constructor(private readonly options: RelayConnectionOptions) {}

  get ready(): boolean {
    return (this.pool?.readyCount ?? 0) > 0;
  }

  get addresses(): readonly string[] {
    return this.pool?.addresses ?? [];
  }

  proxyEndpoint(peerKey: string): string | undefined {
    return this.endpoints.get(peerKey);
  }

  proxyCounters(peerKey: string): PeerProxyCounters | undefined {
    return this.proxy?.counters(keyFromBase64(peerKey));
  }

  async set(desired: DesiredRelay): Promise<void> {
    const t = desired.target;
    const key = t ? `${t.host}:${t.port}/${t.pool ? 'pool' : 'one'}/wg:${desired.wireguardPort}` : undefined;
    if (key !== this.targetKey) {
      await this.close();
      if (t) await this.open(t, desired.wireguardPort);
      this.targetKey = key;
    }
    const proxy = this.proxy;
    if (!proxy) return;
    const wanted = new Set(desired.peers);
    for (const peer of [...this.endpoints.keys()]) {
      if (wanted.has(peer)) continue;
      await proxy.removePeer(keyFromBase64(peer));
      this.endpoints.delete(peer);
    }
    for (const peer of wanted) {
      if (this.endpoints.has(peer)) continue;
      const endpoint = await proxy.addPeer(keyFromBase64(peer));
      this.endpoints.set(peer, `${endpoint.host}:${endpoint.port}`);
    }
  }

  async close(): Promise<void> {
    this.pool?.close();
    await this.proxy?.close();
    if (this.pool)
      this.options.log.info({ event: 'relay-closed', relay: this.targetKey }, 'relay connection closed');
    this.pool = undefined;
    this.proxy = undefined;
    this.targetKey = undefined;
    this.endpoints.clear();
  }

  private async open(target: RelayTarget, wireguardPort: number): Promise<void> {
    const { log } = this.options;
    const resolveAll = this.options.resolve ?? systemResolve;
    // Behind a load balancer every address leads to the same replicas: one connection, or the second
    // registration of our key would replace the first over and over.
    const resolve = async (host: string) => {
      const all = await resolveAll(host);
      return target.pool ? all : all.slice(0, 1);
    };
    const pool = new RelayPool({
      host: target.host,
      port: target.port,
      publicKey: keyFromBase64(this.options.publicKey),
      privateKey: keyFromBase64(this.options.privateKey),
      resolve,
      logger: log.child({ subsystem: 'relay-client' }),
    });
    const proxy = new UdpProxy({
      relay: pool,
      wireguardPort,
      logger: log.child({ subsystem: 'relay-proxy' }),
      onUnknownPeer: (source) =>
        log.debug(
          { event: 'relay-unknown-peer', peer: keyToBase64(source) },
          'relayed packet from an unknown key',
        ),
    });
    this.pool = pool;
    this.proxy = proxy;
    log.info(
      {
        event: 'relay-opened',
        host: target.host,
        port: target.port,
        source: target.source,
        pool: target.pool,
      },
      'relay connection opened',
    );
    await pool.start();
  }
}

async function systemResolve(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  return (await lookup(host, { all: true })).map((r) => r.address).sort();
}
