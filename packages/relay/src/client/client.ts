/**
 * The agent's connection to one relay: connect, run the handshake (client/handshake.ts: Register, extensions,
 * ownership proof, core fallback), keepalive every 25 s, ping liveness, and reconnect with exponential backoff
 * 1 s → 30 s. This class owns the socket and the timers; the handshake's decisions are the pure machine's.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type Logger, pino } from 'pino';
import { keyToBase64, publicKeyOf } from '../auth/keys.js';
import { FrameDecoder } from '../codec/decoder.js';
import { Extension, encodeControl, encodePing, encodePong, PING_TOKEN_SIZE } from '../codec/extensions.js';
import { BODY_OFFSET, encodeKeepalive, FrameType, HEADER_SIZE, KEY_SIZE } from '../codec/frame.js';
import { RelayArgumentError, RelayConnectionError } from '../errors.js';
import { realTimers, type TimerHandle, type Timers } from '../timers.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { DataBatch } from './data-batch.js';
import {
  type ClientHandshakeConfig,
  type ClientHandshakeState,
  type ClientTransition,
  isEchoProbe,
  nextClient,
  startClient,
} from './handshake.js';
import type { ControlListener, DataListener, RelayTransport } from './transport.js';

export type RelayClientState =
  /** Not started, or waiting for the next attempt. */
  | 'idle'
  | 'connecting'
  /** Connected, registering and negotiating extensions. */
  | 'handshake'
  /** Sending and receiving Data. */
  | 'ready'
  | 'backoff'
  | 'closed';

export interface RelayClientOptions {
  host: string;
  port: number;
  /** This node's raw 32-byte WireGuard public key. */
  publicKey: Uint8Array;
  /** The matching private key, for the key-ownership proof. Required unless `auth` or `extensions` is false. */
  privateKey?: Uint8Array;
  /** Offer extensions (auth, ping, control). False speaks only the four core frames. Default true. */
  extensions?: boolean;
  /** Prove ownership of the key (auth extension), so that a stale registration of it is replaced at once and a
   * relay with --require-auth routes it. Default true; false offers the other extensions without the proof. */
  auth?: boolean;
  keepaliveIntervalMs?: number;
  backoff?: BackoffPolicy;
  /** How long to wait for any reply before assuming a core-only relay that ignores both Hello and the echo probe
   * (client/handshake.ts). Relays that answer (any of ours; core relays that route Data) decide at once. Default 3 s. */
  helloTimeoutMs?: number;
  /** How long to wait for AuthOk once auth was agreed. Default 10 s (the relay's own handshake timeout). */
  authTimeoutMs?: number;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
  /** Silence after which a ping-enabled connection is considered dead and replaced. Default 6 s (3 missed pings). */
  pingTimeoutMs?: number;
  /** Send queue bound; sends beyond it are dropped. Default 1 MiB. */
  maxQueueBytes?: number;
  timers?: Timers;
  random?: () => number;
  logger?: Logger;
  /** Opens the TCP connection (tests substitute it). */
  connect?: (host: string, port: number) => Socket;
}

export interface RelayClientCounters {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Sends refused because the client was not ready or its queue was full. */
  sendDrops: number;
  connects: number;
  disconnects: number;
}

export type StateListener = (state: RelayClientState, error?: RelayConnectionError) => void;

type ResolvedClientOptions = Required<Omit<RelayClientOptions, 'privateKey' | 'logger' | 'auth'>>;

export class RelayClient implements RelayTransport {
  readonly address: string;
  private readonly opts: ResolvedClientOptions;
  private readonly handshakeConfig: ClientHandshakeConfig;
  private handshake: ClientHandshakeState | null = null;
  private readonly logger: Logger;
  private readonly publicKey: Buffer;
  private readonly dataListeners = new Set<DataListener>();
  private readonly controlListeners = new Set<ControlListener>();
  private readonly stateListeners = new Set<StateListener>();
  private socket: Socket | null = null;
  /** Data frames of the current event-loop turn, written together (data-batch.ts); one per connection. */
  private batch: DataBatch | null = null;
  private decoder = new FrameDecoder();
  private currentState: RelayClientState = 'idle';
  private attempt = 0;
  private lastReceivedAt = 0;
  private lastError: string | null = null;
  private timers: TimerHandle[] = [];
  private handshakeTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private negotiated: Extension[] = [];
  private isAuthenticated = false;
  readonly counters: RelayClientCounters = {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    sendDrops: 0,
    connects: 0,
    disconnects: 0,
  };

  constructor(options: RelayClientOptions) {
    if (options.publicKey.length !== KEY_SIZE) {
      throw new RelayArgumentError(`publicKey must be ${KEY_SIZE} bytes`, 'publicKey');
    }
    if (options.privateKey !== undefined && !publicKeyOf(options.privateKey).equals(options.publicKey)) {
      throw new RelayArgumentError('privateKey does not match publicKey', 'privateKey');
    }
    const extensions = options.extensions ?? true;
    const auth = extensions && (options.auth ?? true);
    if (auth && options.privateKey === undefined) {
      throw new RelayArgumentError(
        'privateKey is required for the key-ownership proof (set auth: false to connect without it)',
        'privateKey',
      );
    }
    this.publicKey = Buffer.from(options.publicKey);
    this.address = `${options.host}:${options.port}`;
    this.opts = {
      host: options.host,
      port: options.port,
      publicKey: this.publicKey,
      extensions,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 25_000,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      helloTimeoutMs: options.helloTimeoutMs ?? 3_000,
      authTimeoutMs: options.authTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 2_000,
      pingTimeoutMs: options.pingTimeoutMs ?? 6_000,
      maxQueueBytes: options.maxQueueBytes ?? 1024 * 1024,
      timers: options.timers ?? realTimers,
      random: options.random ?? Math.random,
      connect: options.connect ?? ((host, port) => netConnect({ host, port, noDelay: true })),
    };
    const offer: Extension[] = extensions ? [Extension.Ping, Extension.Control] : [];
    if (auth) offer.unshift(Extension.Auth);
    this.handshakeConfig = {
      publicKey: this.publicKey,
      privateKey: auth && options.privateKey ? Buffer.from(options.privateKey) : undefined,
      offer,
      helloTimeoutMs: this.opts.helloTimeoutMs,
      authTimeoutMs: this.opts.authTimeoutMs,
    };
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({
      relay: this.address,
      peer: keyToBase64(this.publicKey),
    });
  }

  get state(): RelayClientState {
    return this.currentState;
  }

  get ready(): boolean {
    return this.currentState === 'ready';
  }

  /** Extensions agreed with the relay on the current connection. */
  get extensions(): readonly Extension[] {
    return this.negotiated;
  }

  /** Whether the relay accepted this connection's key-ownership proof. */
  get authenticated(): boolean {
    return this.isAuthenticated;
  }

  /** Bytes waiting in the socket's send queue, including Data not yet handed to it. */
  get queuedBytes(): number {
    return (this.socket?.writableLength ?? 0) + (this.batch?.pendingBytes ?? 0);
  }

  start(): void {
    if (this.currentState !== 'idle') return;
    this.connect();
  }

  /** Closes the connection for good (no reconnect). */
  close(): void {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.clearConnectionTimers();
    if (this.retryTimer) this.opts.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    this.dropBatch();
    socket?.destroy();
  }

  onData(listener: DataListener): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onState(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Control frames from other agents (extension 'control'): `fromKey` is the sender's public key. The buffers are
   * views into the received bytes. Returns an unsubscribe function. */
  onControl(listener: ControlListener): () => void {
    this.controlListeners.add(listener);
    return () => this.controlListeners.delete(listener);
  }

  /** Sends an opaque payload (at most 1024 bytes) to another agent through the relay. False when the connection is
   * not ready, the relay did not agree to the control extension, or the send queue is full. */
  sendControl(peerKey: Uint8Array, payload: Uint8Array): boolean {
    const frame = encodeControl(peerKey, payload);
    const socket = this.socket;
    if (
      this.currentState !== 'ready' ||
      socket === null ||
      !this.negotiated.includes(Extension.Control) ||
      this.queuedBytes > this.opts.maxQueueBytes
    ) {
      return false;
    }
    this.write(socket, frame);
    return true;
  }

  /** Queues a Data frame; frames sent in one event-loop turn leave in one write at the end of it. */
  send(destination: Uint8Array, datagram: Uint8Array): boolean {
    const batch = this.batch;
    if (this.currentState !== 'ready' || batch === null || this.queuedBytes > this.opts.maxQueueBytes) {
      this.counters.sendDrops++;
      return false;
    }
    const size = batch.add(destination, datagram);
    this.counters.framesSent++;
    this.counters.bytesSent += size;
    return true;
  }

  /** Every frame other than Data goes out here: pending Data first, so frames keep the order they were sent in. */
  private write(socket: Socket, frame: Buffer): void {
    this.batch?.flush();
    socket.write(frame);
  }

  private dropBatch(): void {
    this.batch?.discard();
    this.batch = null;
  }

  // ---- connection lifecycle ----------------------------------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    this.setState('connecting');
    this.decoder = new FrameDecoder();
    this.handshake = null;
    this.negotiated = [];
    this.isAuthenticated = false;
    this.lastError = null;
    const socket = this.opts.connect(this.opts.host, this.opts.port);
    this.socket = socket;
    this.addTimer(
      this.opts.timers.setTimeout(() => {
        this.lastError = 'connect timeout';
        socket.destroy();
      }, this.opts.connectTimeoutMs),
    );
    socket.on('connect', () => this.onConnect(socket));
    socket.on('data', (chunk: Buffer) => this.onSocketData(socket, chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.lastError = error.code ?? error.message;
    });
    socket.on('close', () => this.onClose(socket));
  }

  private onConnect(socket: Socket): void {
    if (socket !== this.socket) return;
    this.clearConnectionTimers();
    socket.setNoDelay(true);
    // TCP keepalive as a backstop for core-only relays, where there is no ping.
    socket.setKeepAlive(true, 10_000);
    this.counters.connects++;
    this.batch = new DataBatch((chunk) => socket.write(chunk));
    this.lastReceivedAt = this.opts.timers.now();
    this.setState('handshake');
    this.applyHandshake(startClient(this.handshakeConfig, this.lastReceivedAt));
  }

  /** Applies one step of the handshake machine: writes, early Data, logs, then ready / failed / a wake-up. */
  private applyHandshake(transition: ClientTransition): void {
    const socket = this.socket;
    if (socket === null) return;
    const state = transition.state;
    this.handshake = state;
    for (const effect of transition.effects) {
      switch (effect.kind) {
        case 'write':
          this.write(socket, effect.frame);
          break;
        case 'deliver':
          this.deliver(effect.source, effect.datagram);
          break;
        case 'log':
          this.logger[effect.level]({ event: effect.event, ...effect.fields }, effect.message);
          break;
      }
    }
    if (state.phase === 'ready') {
      this.negotiated = [...state.extensions];
      this.isAuthenticated = state.authenticated;
      this.becomeReady(state.via);
    } else if (state.phase === 'failed') {
      this.lastError = state.reason;
      socket.destroy();
    } else if (transition.wakeAt !== undefined) {
      this.scheduleHandshakeTick(transition.wakeAt);
    }
  }

  private scheduleHandshakeTick(at: number): void {
    const timers = this.opts.timers;
    if (this.handshakeTimer !== null) return;
    this.handshakeTimer = timers.setTimeout(
      () => {
        this.handshakeTimer = null;
        if (this.handshake === null) return;
        this.applyHandshake(
          nextClient(this.handshake, { kind: 'tick', now: timers.now() }, this.handshakeConfig),
        );
      },
      Math.max(0, at - timers.now()),
    );
    this.addTimer(this.handshakeTimer);
  }

  private becomeReady(via: string): void {
    this.clearConnectionTimers();
    this.attempt = 0;
    this.setState('ready');
    const timers = this.opts.timers;
    this.addTimer(
      timers.setInterval(() => {
        if (this.socket) this.write(this.socket, encodeKeepalive());
      }, this.opts.keepaliveIntervalMs),
    );
    if (this.negotiated.includes(Extension.Ping)) {
      this.addTimer(timers.setInterval(() => this.checkLiveness(), this.opts.pingIntervalMs));
    }
    this.logger.info(
      { event: 'relay-ready', via, extensions: this.negotiated, authenticated: this.isAuthenticated },
      'relay connection ready',
    );
  }

  private checkLiveness(): void {
    const socket = this.socket;
    if (socket === null) return;
    if (this.opts.timers.now() - this.lastReceivedAt > this.opts.pingTimeoutMs) {
      this.lastError = 'liveness timeout';
      this.logger.warn({ event: 'liveness-timeout' }, 'relay silent: reconnecting');
      socket.destroy();
      return;
    }
    const token = Buffer.allocUnsafe(PING_TOKEN_SIZE);
    token.writeDoubleBE(this.opts.timers.now());
    this.write(socket, encodePing(token));
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.dropBatch();
    this.clearConnectionTimers();
    if (this.currentState === 'closed') return;
    this.counters.disconnects++;
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt++;
    const error = new RelayConnectionError(
      `relay connection lost: ${this.lastError ?? 'closed by peer'}`,
      'connection',
      this.address,
      this.lastError ?? undefined,
    );
    this.logger.warn(
      { event: 'relay-disconnected', reason: this.lastError, retryInMs: Math.round(delay) },
      'relay lost',
    );
    this.setState('backoff', error);
    this.retryTimer = this.opts.timers.setTimeout(() => this.connect(), delay);
  }

  // ---- frames from the relay ---------------------------------------------------------------------------------

  private onSocketData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.lastReceivedAt = this.opts.timers.now();
    try {
      this.decoder.push(chunk, this.onFrame);
    } catch (error) {
      this.lastError = (error as Error).message;
      this.logger.warn({ event: 'relay-protocol-error', err: this.lastError }, 'bad stream from relay');
      socket.destroy();
    }
  }

  private readonly onFrame = (buf: Buffer, start: number, end: number): void => {
    const type = buf[start + HEADER_SIZE]!;
    const body = buf.subarray(start + BODY_OFFSET, end);
    if (this.currentState !== 'ready') {
      if (this.handshake !== null && this.currentState === 'handshake') {
        const now = this.opts.timers.now();
        this.applyHandshake(
          nextClient(this.handshake, { kind: 'frame', type, body, now }, this.handshakeConfig),
        );
      }
      return;
    }
    if (type === FrameType.Data) {
      if (body.length < KEY_SIZE) return;
      this.counters.framesReceived++;
      this.counters.bytesReceived += end - start;
      const source = body.subarray(0, KEY_SIZE);
      const datagram = body.subarray(KEY_SIZE);
      // A core relay may echo the handshake's probe after the first reply already decided.
      if (isEchoProbe(source, datagram, this.publicKey)) return;
      this.deliver(source, datagram);
      return;
    }
    this.control(type, body);
  };

  private deliver(source: Buffer, datagram: Buffer): void {
    for (const listener of this.dataListeners) listener(source, datagram);
  }

  /** Frames other than Data once the connection is ready. */
  private control(type: number, body: Buffer): void {
    const socket = this.socket;
    if (socket === null) return;
    switch (type) {
      case FrameType.Error: {
        const text = body.toString('utf8', 0, 512);
        this.lastError = text;
        this.logger.warn({ event: 'relay-error', text }, 'relay sent Error');
        return;
      }
      case FrameType.Ping:
        if (this.negotiated.includes(Extension.Ping))
          this.write(socket, encodePong(body.subarray(0, PING_TOKEN_SIZE)));
        return;
      case FrameType.Control: {
        if (!this.negotiated.includes(Extension.Control) || body.length < KEY_SIZE) return;
        const from = body.subarray(0, KEY_SIZE);
        const payload = body.subarray(KEY_SIZE);
        for (const listener of this.controlListeners) listener(from, payload);
        return;
      }
      default:
        // Pong only refreshes lastReceivedAt; unknown types are ignored so relays can add frames.
        return;
    }
  }

  // ---- helpers -----------------------------------------------------------------------------------------------

  private setState(state: RelayClientState, error?: RelayConnectionError): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const listener of this.stateListeners) listener(state, error);
  }

  private addTimer(handle: TimerHandle): void {
    this.timers.push(handle);
  }

  private clearConnectionTimers(): void {
    for (const handle of this.timers) {
      this.opts.timers.clearTimeout(handle);
      this.opts.timers.clearInterval(handle);
    }
    this.timers = [];
    this.handshakeTimer = null;
  }
}
