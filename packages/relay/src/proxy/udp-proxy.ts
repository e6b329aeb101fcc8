/**
 * The local UDP side of the relay path. Each relayed peer gets its own loopback UDP socket; the agent points
 * WireGuard's endpoint for that peer at it. What local WireGuard sends there goes to the relay as Data for that
 * peer; Data from that peer arrives at WireGuard from that same socket, so WireGuard sees one stable endpoint per
 * peer.
 *
 * A peer may move between this path and a direct one at any time: the socket (and its port) lives as long as the
 * peer is added, whatever WireGuard's endpoint currently is, and relayed packets keep being delivered — WireGuard
 * roams to whichever endpoint last sent it an authenticated packet.
 */
import { createSocket, type Socket } from 'node:dgram';
import { type Logger, pino } from 'pino';
import { keyToBase64 } from '../auth/keys.js';
import type { RelayTransport } from '../client/transport.js';
import { KEY_SIZE } from '../codec/frame.js';
import { RelayArgumentError, RelayConnectionError } from '../errors.js';
import { realTimers, type Timers } from '../timers.js';

export interface UdpProxyOptions {
  relay: RelayTransport;
  /** Local WireGuard's listen port: relayed datagrams are delivered there, and only datagrams from it are
   * forwarded (other local processes cannot inject into the relay). */
  wireguardPort: number;
  /** Address local WireGuard is reached at. Default 127.0.0.1. */
  wireguardHost?: string;
  /** Address the per-peer sockets bind to. Default 127.0.0.1. */
  bindHost?: string;
  /** SO_RCVBUF/SO_SNDBUF of each peer socket (the kernel caps them at net.core.rmem_max/wmem_max). Default
   * 4 MiB: when the agent is not scheduled for a few milliseconds, WireGuard keeps sending at line rate and the
   * default 208 KiB (≈ 90 datagrams) overflows — each drop costs the tunnelled TCP flow a retransmit and half its
   * window. */
  socketBufferBytes?: number;
  /** Called for Data from a key that has no proxy socket (the agent may want to add it). */
  onUnknownPeer?: (source: Buffer) => void;
  /** The clock behind the counters' last tx/rx times (tests drive it by hand). Default the real one. */
  timers?: Timers;
  logger?: Logger;
}

export interface ProxyEndpoint {
  host: string;
  port: number;
}

/** Per-peer counters the agent's path selection reads. Times are `timers.now()` milliseconds (monotonic with the
 * default timers: compare them with the same clock, not Date.now()), 0 = never. */
export interface PeerProxyCounters {
  /** WireGuard → relay. */
  txPackets: number;
  txBytes: number;
  /** Dropped on the way to the relay (relay not connected or queue full). */
  txDrops: number;
  lastTxAt: number;
  /** Relay → WireGuard. */
  rxPackets: number;
  rxBytes: number;
  lastRxAt: number;
}

const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

interface ProxyPeer {
  key: Buffer;
  socket: Socket;
  endpoint: ProxyEndpoint;
  counters: PeerProxyCounters;
}

export class UdpProxy {
  private readonly peers = new Map<string, ProxyPeer>();
  private readonly pending = new Map<string, Promise<ProxyEndpoint>>();
  private readonly wireguardHost: string;
  private readonly bindHost: string;
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly unsubscribe: () => void;
  /** The peer of the last relayed datagram: a burst comes from one peer, a 32-byte compare beats a string key. */
  private lastDelivered: ProxyPeer | null = null;
  private unknownPeerDrops = 0;
  private foreignSourceDrops = 0;
  private wireguardRefused = 0;

  constructor(private readonly options: UdpProxyOptions) {
    if (
      !Number.isInteger(options.wireguardPort) ||
      options.wireguardPort < 1 ||
      options.wireguardPort > 65535
    ) {
      throw new RelayArgumentError(`wireguardPort ${options.wireguardPort} is not a port`, 'wireguardPort');
    }
    this.wireguardHost = options.wireguardHost ?? '127.0.0.1';
    this.bindHost = options.bindHost ?? '127.0.0.1';
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.timers = options.timers ?? realTimers;
    this.unsubscribe = options.relay.onData((source, datagram) => this.deliver(source, datagram));
  }

  /** Datagrams from the relay for keys without a socket; from local senders other than WireGuard that got past
   * the kernel's filter of the connected socket (only in the instant between bind and connect); and sends to
   * WireGuard refused because its port was closed. */
  get drops(): { unknownPeer: number; foreignSource: number; wireguardRefused: number } {
    return {
      unknownPeer: this.unknownPeerDrops,
      foreignSource: this.foreignSourceDrops,
      wireguardRefused: this.wireguardRefused,
    };
  }

  /**
   * Opens the peer's proxy socket, or returns the existing one: the port stays the same for as long as the peer
   * is added, so the agent can switch WireGuard's endpoint to it and back at any time.
   */
  async addPeer(peerKey: Uint8Array): Promise<ProxyEndpoint> {
    if (peerKey.length !== KEY_SIZE) {
      throw new RelayArgumentError(`peer key must be ${KEY_SIZE} bytes, got ${peerKey.length}`, 'peerKey');
    }
    const id = Buffer.from(peerKey).toString('latin1');
    const existing = this.peers.get(id);
    if (existing) return existing.endpoint;
    let opening = this.pending.get(id);
    if (!opening) {
      opening = this.open(Buffer.from(peerKey), id).finally(() => this.pending.delete(id));
      this.pending.set(id, opening);
    }
    return opening;
  }

  async removePeer(peerKey: Uint8Array): Promise<void> {
    const id = Buffer.from(peerKey).toString('latin1');
    await this.pending.get(id)?.catch(() => undefined);
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    if (this.lastDelivered === peer) this.lastDelivered = null;
    await new Promise<void>((resolve) => peer.socket.close(() => resolve()));
    this.logger.info({ event: 'proxy-removed', peer: keyToBase64(peer.key) }, 'relay proxy closed');
  }

  endpoint(peerKey: Uint8Array): ProxyEndpoint | undefined {
    return this.peers.get(Buffer.from(peerKey).toString('latin1'))?.endpoint;
  }

  counters(peerKey: Uint8Array): PeerProxyCounters | undefined {
    const counters = this.peers.get(Buffer.from(peerKey).toString('latin1'))?.counters;
    return counters ? { ...counters } : undefined;
  }

  /** Keys (raw) of every peer with a proxy socket. */
  peerKeys(): Buffer[] {
    return [...this.peers.values()].map((peer) => Buffer.from(peer.key));
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all(this.peerKeys().map((key) => this.removePeer(key)));
  }

  private async open(key: Buffer, id: string): Promise<ProxyEndpoint> {
    const bufferBytes = this.options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
    const socket = createSocket({
      type: this.bindHost.includes(':') ? 'udp6' : 'udp4',
      recvBufferSize: bufferBytes,
      sendBufferSize: bufferBytes,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(new RelayConnectionError(error.message, 'proxy bind', `${this.bindHost}:0`, error.code)),
      );
      socket.bind(0, this.bindHost, () => resolve());
    });
    // Connected to WireGuard: a send skips Node's per-datagram address lookup (a dns.lookup deferred to the next
    // tick) and the kernel's per-datagram route lookup, and the kernel itself drops datagrams from any other
    // local sender (address and port), which is the filter the agent relies on.
    const wireguard = `${this.wireguardHost}:${this.options.wireguardPort}`;
    await new Promise<void>((resolve, reject) => {
      socket.removeAllListeners('error');
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.close();
        reject(new RelayConnectionError(error.message, 'proxy connect', wireguard, error.code));
      });
      socket.connect(this.options.wireguardPort, this.wireguardHost, () => resolve());
    });
    const address = socket.address();
    const peer: ProxyPeer = {
      key,
      socket,
      endpoint: { host: address.address, port: address.port },
      counters: { txPackets: 0, txBytes: 0, txDrops: 0, lastTxAt: 0, rxPackets: 0, rxBytes: 0, lastRxAt: 0 },
    };
    socket.removeAllListeners('error');
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // WireGuard's port closed (restarting): the kernel answers relayed datagrams with port-unreachable, which
      // a connected socket reports once per datagram. Expected and transient; WireGuard retransmits.
      if (error.code === 'ECONNREFUSED') {
        this.wireguardRefused++;
        return;
      }
      this.logger.warn(
        { event: 'proxy-socket-error', peer: keyToBase64(key), err: error.message },
        'proxy error',
      );
    });
    socket.on('message', (datagram, rinfo) => {
      // The connected socket already filters by source; only what arrived between bind and connect gets here.
      if (rinfo.port !== this.options.wireguardPort) {
        this.foreignSourceDrops++;
        return;
      }
      const counters = peer.counters;
      if (this.options.relay.send(key, datagram)) {
        counters.txPackets++;
        counters.txBytes += datagram.length;
        counters.lastTxAt = this.timers.now();
      } else {
        counters.txDrops++;
      }
    });
    this.peers.set(id, peer);
    this.logger.info(
      { event: 'proxy-added', peer: keyToBase64(key), port: peer.endpoint.port },
      'relay proxy listening for peer',
    );
    return peer.endpoint;
  }

  private deliver(source: Buffer, datagram: Buffer): void {
    let peer = this.lastDelivered;
    if (peer === null || !peer.key.equals(source)) {
      peer = this.peers.get(source.toString('latin1')) ?? null;
      this.lastDelivered = peer;
    }
    if (!peer) {
      this.unknownPeerDrops++;
      this.options.onUnknownPeer?.(Buffer.from(source));
      return;
    }
    const counters = peer.counters;
    counters.rxPackets++;
    counters.rxBytes += datagram.length;
    counters.lastRxAt = this.timers.now();
    peer.socket.send(datagram);
  }
}
