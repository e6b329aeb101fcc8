/**
 * One relay connection per replica behind a (headless Service) name. The name is re-resolved every 30 s (seed):
 * new addresses get a client, vanished ones are closed. Sends go through one ready replica, chosen stably (lowest
 * address) so a peer's packets keep their order; every peer is registered on every replica, so any replica can
 * deliver.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type Logger, pino } from 'pino';
import { realTimers, type TimerHandle } from '../timers.js';
import { RelayClient, type RelayClientOptions, type RelayClientState } from './client.js';
import type { ControlListener, DataListener, RelayTransport } from './transport.js';

export type Resolver = (host: string) => Promise<string[]>;

export interface RelayPoolOptions extends Omit<RelayClientOptions, 'host'> {
  /** A headless Service name (or any name or address) of the relay replicas. */
  host: string;
  /** Name → addresses. Default: every A/AAAA record through the system resolver. */
  resolve?: Resolver;
  resolveIntervalMs?: number;
  /** Builds the per-replica client (tests substitute it). */
  createClient?: (options: RelayClientOptions) => RelayClient;
}

export const systemResolver: Resolver = async (host) => {
  if (isIP(host)) return [host];
  const records = await lookup(host, { all: true });
  return records.map((record) => record.address);
};

export class RelayPool implements RelayTransport {
  private readonly clients = new Map<string, RelayClient>();
  private readonly unsubscribers = new Map<string, Array<() => void>>();
  private readonly dataListeners = new Set<DataListener>();
  private readonly controlListeners = new Set<ControlListener>();
  private readonly resolve: Resolver;
  private readonly logger: Logger;
  private timer: TimerHandle | null = null;
  private closed = false;
  private resolving: Promise<void> | null = null;
  /** Ready replicas sorted by address; rebuilt on every client state change. */
  private ready: RelayClient[] = [];

  constructor(private readonly options: RelayPoolOptions) {
    this.resolve = options.resolve ?? systemResolver;
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  /** Addresses the pool currently holds a client for. */
  get addresses(): string[] {
    return [...this.clients.keys()].sort();
  }

  get readyCount(): number {
    return this.ready.length;
  }

  client(address: string): RelayClient | undefined {
    return this.clients.get(address);
  }

  /** Resolves now, then every resolveIntervalMs. Resolves once the first resolution has been applied. */
  async start(): Promise<void> {
    const timers = this.options.timers ?? realTimers;
    this.timer = timers.setInterval(() => void this.refresh(), this.options.resolveIntervalMs ?? 30_000);
    await this.refresh();
  }

  close(): void {
    this.closed = true;
    if (this.timer) (this.options.timers ?? realTimers).clearInterval(this.timer);
    this.timer = null;
    for (const address of [...this.clients.keys()]) this.drop(address);
  }

  send(destination: Uint8Array, datagram: Uint8Array): boolean {
    for (const client of this.ready) if (client.send(destination, datagram)) return true;
    return false;
  }

  onData(listener: DataListener): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  /** Through the first ready replica (lowest address) that agreed to the control extension. */
  sendControl(peerKey: Uint8Array, payload: Uint8Array): boolean {
    for (const client of this.ready) if (client.sendControl(peerKey, payload)) return true;
    return false;
  }

  /** Control messages from every replica. */
  onControl(listener: ControlListener): () => void {
    this.controlListeners.add(listener);
    return () => this.controlListeners.delete(listener);
  }

  /** Re-resolves the name and reconciles the set of clients. A failed lookup keeps the current set. */
  refresh(): Promise<void> {
    this.resolving ??= this.reconcile().finally(() => {
      this.resolving = null;
    });
    return this.resolving;
  }

  private async reconcile(): Promise<void> {
    let addresses: string[];
    try {
      addresses = [...new Set(await this.resolve(this.options.host))];
    } catch (error) {
      this.logger.warn(
        { event: 'relay-resolve-failed', host: this.options.host, err: (error as Error).message },
        'relay name did not resolve; keeping current replicas',
      );
      return;
    }
    if (this.closed) return;
    for (const address of this.clients.keys()) {
      if (!addresses.includes(address)) this.drop(address);
    }
    for (const address of addresses) {
      if (!this.clients.has(address)) this.add(address);
    }
  }

  private add(address: string): void {
    const { resolve: _r, resolveIntervalMs: _i, createClient, ...clientOptions } = this.options;
    const options: RelayClientOptions = { ...clientOptions, host: address };
    const client = createClient ? createClient(options) : new RelayClient(options);
    this.clients.set(address, client);
    this.unsubscribers.set(address, [
      client.onData((source, datagram) => {
        for (const listener of this.dataListeners) listener(source, datagram);
      }),
      client.onControl((from, payload) => {
        for (const listener of this.controlListeners) listener(from, payload);
      }),
      client.onState((state: RelayClientState) => {
        if (state === 'ready' || this.ready.includes(client)) this.rebuildReady();
      }),
    ]);
    this.logger.info({ event: 'relay-replica-added', address }, 'relay replica added');
    client.start();
  }

  private drop(address: string): void {
    const client = this.clients.get(address);
    if (!client) return;
    for (const unsubscribe of this.unsubscribers.get(address) ?? []) unsubscribe();
    this.unsubscribers.delete(address);
    this.clients.delete(address);
    client.close();
    this.rebuildReady();
    this.logger.info({ event: 'relay-replica-removed', address }, 'relay replica removed');
  }

  private rebuildReady(): void {
    this.ready = [...this.clients.entries()]
      .filter(([, client]) => client.ready)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, client]) => client);
  }
}
