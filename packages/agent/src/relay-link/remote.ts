import type { PeerProxyCounters } from '@wirekube/relay';
import type { Logger } from 'pino';
import type { DesiredRelay, RelayLink } from '../relay/connection.js';
import { LinkSession } from './client.js';
import { LinkError, type LinkKeys, type LinkView } from './protocol.js';

export interface RemoteRelayLinkOptions {
  socketPath: string;
  keys: LinkKeys;
  log: Logger;
  /** Starts a relay-link when nothing answers (mode `spawn`); absent: connect only (mode `external`). */
  spawn?: () => Promise<unknown>;
  /** Per request; default 5 s. */
  requestTimeoutMs?: number;
  /** Reconnect backoff after a failed attempt; default 250 ms doubling to 5 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** Monotonic milliseconds: counter times are given on this clock (the proxy's ages are turned into it). */
  now?: () => number;
}

const EMPTY_VIEW: LinkView = { ready: false, addresses: [], peers: [] };

/**
 * The RelayLink of an agent whose relay connection lives in the relay-link process: every `set` goes over its
 * socket and the answer (ready, addresses, each peer's proxy endpoint and counters) is cached for the path
 * machine's synchronous reads; `refresh()` reads it again. When the socket goes away it reconnects in the
 * background (starting the process again in spawn mode) and re-sends the last desired state. `close()` detaches
 * and leaves the process running: that is what keeps relayed pairs up through an agent restart.
 */
export class RemoteRelayLink implements RelayLink {
  private session?: LinkSession;
  private connecting?: Promise<LinkSession | undefined>;
  private view: LinkView = EMPTY_VIEW;
  private viewAtMs = 0;
  private byKey = new Map<string, LinkView['peers'][number]>();
  private desired?: DesiredRelay;
  private retryAtMs = 0;
  private backoffMs: number;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: RemoteRelayLinkOptions) {
    this.backoffMs = options.backoff?.initialMs ?? 250;
    this.now = options.now ?? (() => performance.now());
  }

  get ready(): boolean {
    return this.session !== undefined && this.view.ready;
  }

  get addresses(): readonly string[] {
    return this.view.addresses;
  }

  /** The relay-link's PID once connected (for logs and the lab). */
  get pid(): number | undefined {
    return this.session?.pid;
  }

  proxyEndpoint(peerKey: string): string | undefined {
    return this.byKey.get(peerKey)?.endpoint;
  }

  proxyCounters(peerKey: string): PeerProxyCounters | undefined {
    const c = this.byKey.get(peerKey)?.counters;
    if (!c) return undefined;
    const at = (age: number | undefined) => (age === undefined ? 0 : this.viewAtMs - age);
    return {
      txPackets: c.txPackets,
      txBytes: c.txBytes,
      txDrops: c.txDrops,
      lastTxAt: at(c.txAgeMs),
      rxPackets: c.rxPackets,
      rxBytes: c.rxBytes,
      lastRxAt: at(c.rxAgeMs),
    };
  }

  /**
   * Sends the desired state. A relay-link that answers gets it at once (an agent restart adopts the running one
   * in this very call); when none answers and one is wanted, it is started in the background and sent the state
   * once up — the first pass does not wait for a Node start-up.
   */
  async set(desired: DesiredRelay): Promise<void> {
    this.desired = desired;
    // A quick look for a running relay-link does not count against the backoff: it is what adopts one at start.
    const session = this.session ?? (await this.connect(false, false));
    if (!session) {
      if (desired.target) this.reconnectSoon();
      return;
    }
    await this.send(session, desired);
  }

  /** Reads the view again; while disconnected it only nudges the reconnect (never blocks a sample). */
  async refresh(): Promise<void> {
    const session = this.session;
    if (!session) {
      this.reconnectSoon();
      return;
    }
    try {
      const reply = await session.request({ type: 'view' });
      if (reply.type === 'view') this.accept(reply.view);
    } catch (error) {
      this.lost(session, error);
    }
  }

  async close(): Promise<void> {
    // Not waiting for a start in progress (up to a Node start-up): the attempt drops its session itself once it
    // sees `closed`, and the detached process it started lives on for the next agent.
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private async send(session: LinkSession, desired: DesiredRelay): Promise<void> {
    const reply = await session.request({ type: 'set', desired, keys: this.options.keys }).catch((error) => {
      this.lost(session, error);
      throw error;
    });
    if (reply.type === 'view') this.accept(reply.view);
    else if (reply.type === 'error')
      throw new LinkError(`set refused: ${reply.message}`, reply.code, this.options.socketPath);
  }

  private accept(view: LinkView): void {
    this.view = view;
    this.viewAtMs = this.now();
    this.byKey = new Map(view.peers.map((p) => [p.key, p]));
  }

  private lost(session: LinkSession, error: unknown): void {
    if (this.session !== session) return;
    session.close();
    this.session = undefined;
    // The endpoints stay cached: a relay-link that comes back with the same ports keeps WireGuard right; one
    // that was restarted answers the re-sent set with its new ports.
    this.view = { ...this.view, ready: false };
    this.options.log.warn(
      { event: 'relay-link-lost', socket: this.options.socketPath, err: (error as Error).message },
      'relay-link connection lost; reconnecting',
    );
  }

  private reconnectSoon(): void {
    if (this.closed || this.connecting || this.now() < this.retryAtMs) return;
    void this.connect(this.options.spawn !== undefined && this.desired?.target !== undefined).then(
      async (session) => {
        if (session && this.desired) await this.send(session, this.desired).catch(() => undefined);
      },
    );
  }

  /** One attempt (with a start of the process when allowed); failures only move the backoff. */
  private connect(allowSpawn: boolean, backoff = true): Promise<LinkSession | undefined> {
    this.connecting ??= this.attempt(allowSpawn, backoff).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async attempt(allowSpawn: boolean, backoff: boolean): Promise<LinkSession | undefined> {
    const { socketPath, log } = this.options;
    const timeoutMs = this.options.requestTimeoutMs ?? 5_000;
    let session: LinkSession | undefined;
    try {
      session = await LinkSession.open(socketPath, timeoutMs);
    } catch (error) {
      if (!allowSpawn || (error as LinkError).code !== 'unavailable')
        return backoff ? this.failed(error) : undefined;
      try {
        log.info({ event: 'relay-link-spawning', socket: socketPath }, 'starting the relay-link process');
        await this.options.spawn?.();
        session = await LinkSession.open(socketPath, timeoutMs);
      } catch (spawnError) {
        log.warn(
          { event: 'relay-link-spawn-failed', socket: socketPath, err: (spawnError as Error).message },
          'cannot start the relay-link process',
        );
        return this.failed(spawnError);
      }
    }
    if (this.closed) {
      session.close();
      return undefined;
    }
    this.backoffMs = this.options.backoff?.initialMs ?? 250;
    this.retryAtMs = 0;
    this.session = session;
    session.onClose((error) => this.lost(session, error));
    log.info({ event: 'relay-link-connected', socket: socketPath, pid: session.pid }, 'relay-link connected');
    return session;
  }

  private failed(error: unknown): undefined {
    this.retryAtMs = this.now() + this.backoffMs;
    this.options.log.debug(
      { event: 'relay-link-unavailable', socket: this.options.socketPath, err: (error as Error).message },
      'relay-link not reachable',
    );
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoff?.maxMs ?? 5_000);
    return undefined;
  }
}
