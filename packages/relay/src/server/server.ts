/**
 * The relay server: accepts connections, owns the key → connection routing table, runs the housekeeping sweep.
 * What a connection may do is decided in handshake.ts; its socket and forwarding live in session.ts.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createChallenge, verifyProof } from '../auth/proof.js';
import { RelayConnectionError } from '../errors.js';
import type { TimerHandle } from '../timers.js';
import { refuseBeforeSocket } from './early-refusal.js';
import type { HandshakeEnv } from './handshake.js';
import {
  fullLogBudget,
  type LogBudget,
  type LogBudgetConfig,
  spendLogLine,
  takeSuppressed,
} from './log-budget.js';
import { type RelayServerOptions, type ResolvedServerOptions, resolveServerOptions } from './options.js';
import { Session, type SessionHost } from './session.js';
import {
  admits,
  forgiven,
  type PenaltyConfig,
  type SourceRecord,
  sourceOf,
  strike,
} from './source-penalty.js';
import { emptyStats, type RelayStats } from './stats.js';

/** Sources whose strikes are remembered at most; the oldest are forgotten first (memory stays bounded). */
const MAX_TRACKED_SOURCES = 65_536;

export class RelayServer implements SessionHost {
  readonly options: ResolvedServerOptions;
  readonly handshake: HandshakeEnv;
  readonly stats: RelayStats = emptyStats();
  private readonly routes = new Map<string, Session>();
  routesVersion = 0;
  private readonly sessions = new Set<Session>();
  private server: Server | null = null;
  private sweepTimer: TimerHandle | null = null;
  private nextId = 1;
  private closing = false;
  private readonly logBudgetConfig: LogBudgetConfig;
  private logBudget: LogBudget;
  private readonly penaltyConfig: PenaltyConfig;
  /** Struck sources (source-penalty.ts); a source is dropped again once its bucket has refilled. */
  private readonly penalties = new Map<string, SourceRecord>();
  /** Penalized connections are closed before Node makes a Socket of them (early-refusal.ts); else at accept. */
  refusesBeforeSocket = false;

  constructor(options: RelayServerOptions = {}) {
    this.options = resolveServerOptions(options);
    const o = this.options;
    this.logBudgetConfig = { perSecond: o.logLinesPerSecond, burst: o.logLinesBurst };
    this.logBudget = fullLogBudget(this.logBudgetConfig, o.timers.now());
    this.penaltyConfig = { burst: o.sourcePenaltyBurst, perSecond: o.sourcePenaltyPerSecond };
    this.handshake = {
      config: {
        requireAuth: o.requireAuth,
        extensions: o.extensions,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        helloGraceMs: o.helloGraceMs,
        idleTimeoutMs: o.idleTimeoutMs,
        pingIntervalMs: o.pingIntervalMs,
        pingTimeoutMs: o.pingTimeoutMs,
        controlPerSecond: o.controlPerSecond,
        controlBurst: o.controlBurst,
      },
      createChallenge: () => createChallenge(),
      verifyProof,
    };
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Source addresses currently struck (penalized or not yet forgiven). */
  get penalizedSourceCount(): number {
    return this.penalties.size;
  }

  /** Keys currently routed. */
  get registeredKeyCount(): number {
    return this.routes.size;
  }

  /** Total bytes waiting in all connections' send queues. */
  get queuedBytes(): number {
    let total = 0;
    for (const session of this.sessions) total += session.queuedBytes;
    return total;
  }

  /** The largest single connection send queue, in bytes. */
  get maxQueuedBytes(): number {
    let max = 0;
    for (const session of this.sessions) max = Math.max(max, session.queuedBytes);
    return max;
  }

  /** The largest partial-frame carry-over of any connection (bounded by one frame, 65540 bytes). */
  get maxCarriedBytes(): number {
    let max = 0;
    for (const session of this.sessions) max = Math.max(max, session.carriedBytes);
    return max;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    // Paused until admitted: a connection from a penalized source is reset without a single read.
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) =>
        reject(new RelayConnectionError(error.message, 'listen', `${host}:${port}`, error.code));
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.refusesBeforeSocket = refuseBeforeSocket(
      server,
      (address) => !this.admitsSource(sourceOf(address)),
      () => this.stats.connectionsPenalized++,
    );
    this.startSweep();
    const address = server.address() as AddressInfo;
    this.options.logger.info(
      { event: 'listening', address: address.address, port: address.port },
      'relay listening',
    );
    return address;
  }

  /** Serves an already-connected socket (tests, or an embedding program with its own listener). */
  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const source = sourceOf(socket.remoteAddress);
    if (!this.admitsSource(source)) {
      this.stats.connectionsPenalized++;
      // A reset (RST, no TIME_WAIT here) is the cheapest goodbye; a reset that fails may only emit an error.
      socket.on('error', () => undefined);
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy();
      }
      return;
    }
    this.stats.connectionsAccepted++;
    const session = new Session(socket, this, this.nextId++);
    session.source = source;
    this.sessions.add(session);
    socket.resume();
    this.startSweep();
  }

  /**
   * Graceful shutdown: stop accepting, tell every client why in an Error frame (so it reconnects, possibly to
   * another replica), and wait until all sockets are closed or the grace period has passed.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweepTimer) this.options.timers.clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const server = this.server;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const session of [...this.sessions]) session.close('relay shutting down', 'relay shutting down');
    await closed;
    this.options.logger.info({ event: 'closed' }, 'relay closed');
  }

  private admitsSource(source: string | null): boolean {
    return (
      source === null || admits(this.penalties.get(source), this.options.timers.now(), this.penaltyConfig)
    );
  }

  /** Runs one housekeeping pass now (tests drive it with a manual clock). */
  sweep(): void {
    const now = this.options.timers.now();
    for (const session of [...this.sessions]) session.sweep(now);
    for (const [source, record] of this.penalties)
      if (forgiven(record, now, this.penaltyConfig)) this.penalties.delete(source);
    const { budget, suppressed } = takeSuppressed(this.logBudget);
    this.logBudget = budget;
    if (suppressed > 0)
      this.options.logger.warn(
        { event: 'log-lines-suppressed', suppressed, perSecond: this.logBudgetConfig.perSecond },
        'per-connection log lines over the budget were not written',
      );
  }

  mayLog(): boolean {
    const { budget, write } = spendLogLine(this.logBudget, this.options.timers.now(), this.logBudgetConfig);
    this.logBudget = budget;
    return write;
  }

  lookup(key: string): Session | undefined {
    return this.routes.get(key);
  }

  route(key: string, session: Session): void {
    const previous = this.routes.get(key);
    this.routes.set(key, session);
    this.routesVersion++;
    if (previous !== undefined && previous !== session) {
      this.stats.replacements++;
      previous.routeKey = '';
      previous.close('replaced', 'replaced by a newer connection that proved ownership of this key');
    }
  }

  unroute(key: string, session: Session): void {
    if (this.routes.get(key) === session) {
      this.routes.delete(key);
      this.routesVersion++;
    }
  }

  forget(session: Session): void {
    this.sessions.delete(session);
    if (session.struck && session.source !== null && !this.closing && this.penaltyConfig.burst > 0)
      this.strike(session.source);
  }

  private strike(source: string): void {
    const now = this.options.timers.now();
    const previous = this.penalties.get(source);
    const { record, penalizedNow } = strike(previous, now, this.penaltyConfig);
    if (previous === undefined && this.penalties.size >= MAX_TRACKED_SOURCES) {
      const oldest = this.penalties.keys().next().value;
      if (oldest !== undefined) this.penalties.delete(oldest);
    }
    this.penalties.set(source, record);
    if (penalizedNow && this.mayLog())
      this.options.logger.warn(
        {
          event: 'source-penalized',
          source,
          burst: this.penaltyConfig.burst,
          perSecond: this.penaltyConfig.perSecond,
        },
        'source broke the protocol too often: its new connections are reset until it has regained strikes',
      );
  }

  private startSweep(): void {
    if (this.sweepTimer !== null || this.closing) return;
    this.sweepTimer = this.options.timers.setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref?.();
  }
}
