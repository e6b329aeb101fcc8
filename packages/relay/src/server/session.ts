/**
 * One client connection on the relay: the registration/extension handshake, and the forwarding hot path.
 *
 * Forwarding never copies a frame: the source key is written over the destination key in place inside the
 * received chunk, consecutive frames to the same destination stay one contiguous slice, and each destination gets
 * one write (or one corked writev) per read of the sender.
 */
import type { Socket } from 'node:net';
import { keyToBase64 } from '../auth/keys.js';
import { createChallenge, type PendingChallenge, verifyProof } from '../auth/proof.js';
import { FrameDecoder } from '../codec/decoder.js';
import {
  Extension,
  encodeAuthChallenge,
  encodeAuthOk,
  encodePong,
  encodeWelcome,
  PING_TOKEN_SIZE,
  parseExtensionList,
} from '../codec/extensions.js';
import {
  BODY_OFFSET,
  encodeError,
  encodeFrame,
  FrameType,
  frameTypeName,
  HEADER_SIZE,
  KEY_SIZE,
} from '../codec/frame.js';
import { FrameLengthError } from '../errors.js';
import type { TimerHandle } from '../timers.js';
import type { ResolvedServerOptions } from './options.js';
import type { RelayStats } from './stats.js';

const DATA_MIN_FRAME = BODY_OFFSET + KEY_SIZE;

export type SessionState =
  /** Waiting for the first frame, which must be Register. */
  | 'new'
  /** Registered but not routed: its key needs a proof first (auth required, or the key is taken). */
  | 'pending'
  /** Routed: Data to its key reaches it. */
  | 'active'
  | 'closed';

/** What a session needs from the server that owns the routing table. */
export interface SessionHost {
  readonly options: ResolvedServerOptions;
  readonly stats: RelayStats;
  /** Bumped on every routing change, so sessions can cache a lookup safely. */
  readonly routesVersion: number;
  lookup(key: string): Session | undefined;
  /** Routes `key` to `session`, closing a previous holder. */
  route(key: string, session: Session): void;
  unroute(key: string, session: Session): void;
  forget(session: Session): void;
}

export class Session {
  state: SessionState = 'new';
  /** The registered key, raw and as the routing-table string (latin1 of the 32 bytes). */
  key: Buffer | null = null;
  routeKey = '';
  authenticated = false;
  extensions: Extension[] = [];
  readonly openedAt: number;
  lastReceivedAt: number;
  lastPingAt = 0;

  // Outgoing slices gathered for this session while a sender processes one read.
  outPieces: Buffer[] = [];
  outBytes = 0;

  private readonly decoder = new FrameDecoder();
  private framesSeen = 0;
  private challenge: PendingChallenge | null = null;
  private lastNoRouteErrorAt = Number.NEGATIVE_INFINITY;
  private closeTimer: TimerHandle | null = null;
  private pendingRouteKey = '';

  // Per-read scratch state of the hot path.
  private runDest: Session | null = null;
  private runBuf: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  private runFrames = 0;
  private touched: Session[] = [];
  private cachedDest: Session | null = null;
  /** Backpressure: the destination this sender waits for, and the senders waiting for this one. */
  private pausedOn: Session | null = null;
  private pauseTimer: TimerHandle | null = null;
  readonly waiters = new Set<Session>();
  slowUntil = 0;
  private readonly cachedKey = Buffer.alloc(KEY_SIZE);
  private cachedVersion = -1;
  private readFrames = 0;
  private readBytes = 0;

  constructor(
    readonly socket: Socket,
    private readonly host: SessionHost,
    readonly id: number,
  ) {
    this.openedAt = host.options.timers.now();
    this.lastReceivedAt = this.openedAt;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.log().debug({ event: 'connection_error', errno: error.code, err: error.message }, 'socket error');
    });
    socket.on('close', () => this.finish());
    socket.on('drain', () => this.releaseWaiters());
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get peer(): string | undefined {
    return this.key ? keyToBase64(this.key) : undefined;
  }

  /** Bytes of a partial frame held back until the rest arrives (at most one frame). */
  get carriedBytes(): number {
    return this.decoder.buffered;
  }

  /** Bytes waiting in this connection's send queue. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /** Sends a control frame. A client that lets its queue overflow with control frames is cut off. */
  send(frame: Buffer): void {
    if (this.state === 'closed') return;
    if (this.socket.writableLength > this.host.options.maxQueueBytes) {
      this.close('send queue full', null);
      return;
    }
    this.socket.write(frame);
  }

  /** Closes the connection, optionally telling the client why in an Error frame first. */
  close(reason: string, errorText: string | null): void {
    if (this.state === 'closed') return;
    this.log().info({ event: 'connection_closed', reason }, 'closing relay connection');
    this.finish();
    if (errorText !== null && !this.socket.destroyed) {
      this.socket.end(encodeError(errorText));
      // A client that never reads would keep the socket half-open forever.
      this.closeTimer = this.host.options.timers.setTimeout(
        () => this.socket.destroy(),
        this.host.options.closeGraceMs,
      );
      this.closeTimer.unref?.();
      this.socket.once('close', () => {
        if (this.closeTimer) this.host.options.timers.clearTimeout(this.closeTimer);
      });
    } else {
      this.socket.destroy();
    }
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.routeKey) this.host.unroute(this.routeKey, this);
    this.host.forget(this);
    this.challenge = null;
    this.cachedDest = null;
    this.resumeReading();
    this.releaseWaiters();
    this.outPieces.length = 0;
    this.outBytes = 0;
  }

  private log() {
    return this.host.options.logger.child({ conn: this.id, remote: this.remote, peer: this.peer });
  }

  // ---- hot path -------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastReceivedAt = this.host.options.timers.now();
    try {
      this.decoder.push(chunk, this.onFrame);
    } catch (error) {
      this.flushRun();
      this.flushTouched();
      if (error instanceof FrameLengthError) {
        this.host.stats.protocolErrors++;
        this.close('bad frame length', `protocol error: ${error.message}`);
        return;
      }
      throw error;
    }
    this.flushRun();
    this.flushTouched();
  }

  private readonly onFrame = (buf: Buffer, start: number, end: number): void => {
    this.framesSeen++;
    if (buf[start + HEADER_SIZE] === FrameType.Data && this.state === 'active') {
      this.forward(buf, start, end);
      return;
    }
    // The rest of a read after a fatal error is ignored.
    if (this.state === 'closed') return;
    // Control frames are rare: close any run so that output order follows input order.
    this.flushRun();
    this.control(buf[start + HEADER_SIZE]!, buf.subarray(start + BODY_OFFSET, end));
  };

  private forward(buf: Buffer, start: number, end: number): void {
    const stats = this.host.stats;
    if (end - start < DATA_MIN_FRAME) {
      stats.drops.malformed++;
      this.send(encodeError('Data frame body shorter than a 32-byte key'));
      return;
    }
    const keyStart = start + BODY_OFFSET;
    const keyEnd = keyStart + KEY_SIZE;
    let dest: Session | undefined;
    // Consecutive frames mostly go to the same peer: a 32-byte compare is cheaper than a string and a Map lookup.
    const cached = this.cachedDest;
    if (
      cached !== null &&
      cached.state === 'active' &&
      this.cachedVersion === this.host.routesVersion &&
      buf.compare(this.cachedKey, 0, KEY_SIZE, keyStart, keyEnd) === 0
    ) {
      dest = cached;
    } else {
      dest = this.host.lookup(buf.toString('latin1', keyStart, keyEnd));
      if (dest !== undefined) {
        buf.copy(this.cachedKey, 0, keyStart, keyEnd);
        this.cachedDest = dest;
        this.cachedVersion = this.host.routesVersion;
      }
    }
    if (dest === undefined) {
      stats.drops.no_route++;
      this.reportNoRoute(buf.subarray(keyStart, keyStart + KEY_SIZE));
      return;
    }
    if (dest === this) {
      stats.drops.self++;
      return;
    }
    // Rewrite destination → source in place: the frame leaves exactly as it came, minus 32 bytes of key.
    buf.set(this.key!, keyStart);
    if (this.runDest === dest && this.runBuf === buf && this.runEnd === start) {
      this.runEnd = end;
      this.runFrames++;
      return;
    }
    this.flushRun();
    this.runDest = dest;
    this.runBuf = buf;
    this.runStart = start;
    this.runEnd = end;
    this.runFrames = 1;
  }

  /** Moves the current run of contiguous frames into its destination's gather list, or drops it if full. */
  private flushRun(): void {
    const dest = this.runDest;
    if (dest === null) return;
    this.runDest = null;
    const size = this.runEnd - this.runStart;
    if (dest.state === 'closed') {
      this.host.stats.drops.no_route += this.runFrames;
    } else if (dest.socket.writableLength + dest.outBytes + size > this.host.options.maxQueueBytes) {
      this.host.stats.drops.queue_full += this.runFrames;
    } else {
      if (dest.outPieces.length === 0) this.touched.push(dest);
      dest.outPieces.push(this.runBuf!.subarray(this.runStart, this.runEnd));
      dest.outBytes += size;
      this.readFrames += this.runFrames;
      this.readBytes += size;
    }
    this.runBuf = null;
  }

  /** One write per destination for everything this read carried to it. */
  private flushTouched(): void {
    const touched = this.touched;
    const threshold = this.host.options.pauseThresholdBytes;
    for (let i = 0; i < touched.length; i++) {
      const dest = touched[i]!;
      dest.writeGathered();
      if (dest.socket.writableLength > threshold) this.pauseFor(dest);
    }
    touched.length = 0;
    const stats = this.host.stats;
    stats.framesForwarded += this.readFrames;
    stats.bytesForwarded += this.readBytes;
    this.readFrames = 0;
    this.readBytes = 0;
  }

  private writeGathered(): void {
    const pieces = this.outPieces;
    if (pieces.length === 0 || this.state === 'closed') return;
    const socket = this.socket;
    if (pieces.length === 1) {
      socket.write(pieces[0]!);
    } else {
      socket.cork();
      for (let i = 0; i < pieces.length; i++) socket.write(pieces[i]!);
      socket.uncork();
    }
    pieces.length = 0;
    this.outBytes = 0;
  }

  /**
   * Backpressure: stop reading from this sender until `dest` drains, so bulk flows slow down end to end instead
   * of being dropped. Bounded: a pause ends after maxPauseMs at the latest, and a destination that needed that
   * timeout is marked slow for slowPenaltyMs, during which nobody pauses for it (frames to it are dropped at the
   * queue bound instead). A slow reader therefore cannot hold other traffic of its senders for long.
   */
  private pauseFor(dest: Session): void {
    if (this.pausedOn !== null || this.state === 'closed') return;
    const timers = this.host.options.timers;
    if (timers.now() < dest.slowUntil) return;
    this.pausedOn = dest;
    dest.waiters.add(this);
    this.socket.pause();
    this.pauseTimer = timers.setTimeout(() => {
      this.pauseTimer = null;
      dest.slowUntil = timers.now() + this.host.options.slowPenaltyMs;
      this.resumeReading();
    }, this.host.options.maxPauseMs);
  }

  private resumeReading(): void {
    const dest = this.pausedOn;
    if (dest === null) return;
    this.pausedOn = null;
    dest.waiters.delete(this);
    if (this.pauseTimer !== null) this.host.options.timers.clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    if (this.state !== 'closed') this.socket.resume();
  }

  private releaseWaiters(): void {
    if (this.waiters.size === 0) return;
    for (const waiter of [...this.waiters]) waiter.resumeReading();
  }

  private reportNoRoute(key: Buffer): void {
    // One Error per second at most: a sender to a vanished peer would otherwise get one per packet.
    const now = this.host.options.timers.now();
    if (now - this.lastNoRouteErrorAt < 1_000) return;
    this.lastNoRouteErrorAt = now;
    this.send(encodeError(`no route to ${keyToBase64(key)}`));
  }

  // ---- control frames ---------------------------------------------------------------------------------------

  private control(type: number, body: Buffer): void {
    const opts = this.host.options;
    if (this.state === 'new') {
      if (type !== FrameType.Register) {
        this.protocolError(`first frame must be Register, got ${frameTypeName(type)}`, true);
        return;
      }
      this.register(body);
      return;
    }
    if (this.state === 'pending' && this.challenge === null && type !== FrameType.Hello) {
      // A pending connection gets exactly one chance: Hello with auth, then the proof. Anything else ends it.
      this.refusePending();
      return;
    }
    switch (type) {
      case FrameType.Keepalive:
        return;
      case FrameType.Data:
        // Data from a session that is not active (forward() handles the active case).
        this.host.stats.drops.unregistered++;
        return;
      case FrameType.Register:
        this.protocolError('Register is only allowed as the first frame', false);
        return;
      case FrameType.Error:
        this.log().info({ event: 'client_error', text: body.toString('utf8', 0, 512) }, 'client sent Error');
        return;
      case FrameType.Hello:
        if (opts.extensions.length === 0) break;
        this.hello(body);
        return;
      case FrameType.AuthProof:
        if (!opts.extensions.includes(Extension.Auth)) break;
        this.authProof(body);
        return;
      case FrameType.Ping:
        if (!opts.extensions.includes(Extension.Ping)) break;
        this.send(encodePong(body.subarray(0, PING_TOKEN_SIZE)));
        return;
      case FrameType.Pong:
        if (!opts.extensions.includes(Extension.Ping)) break;
        return;
    }
    if (this.state === 'pending') {
      this.refusePending();
      return;
    }
    this.protocolError(`unknown frame type ${frameTypeName(type)}`, false);
  }

  private register(body: Buffer): void {
    if (body.length !== KEY_SIZE) {
      this.protocolError(`Register body must be a ${KEY_SIZE}-byte key, got ${body.length} bytes`, true);
      return;
    }
    this.key = Buffer.from(body);
    const routeKey = this.key.toString('latin1');
    const holder = this.host.lookup(routeKey);
    if (this.host.options.requireAuth || holder !== undefined) {
      this.state = 'pending';
      this.pendingRouteKey = routeKey;
      this.log().debug(
        { event: 'register_pending', taken: holder !== undefined },
        'registration needs a proof',
      );
      return;
    }
    this.activate(routeKey);
  }

  private activate(routeKey: string): void {
    this.state = 'active';
    this.routeKey = routeKey;
    this.host.route(routeKey, this);
    this.log().info({ event: 'registered', authenticated: this.authenticated }, 'peer registered');
  }

  private hello(body: Buffer): void {
    if (this.framesSeen !== 2) {
      this.protocolError('Hello is only allowed right after Register', this.state === 'pending');
      return;
    }
    const offered = parseExtensionList(body);
    const enabled = this.host.options.extensions;
    this.extensions = offered.filter((id) => enabled.includes(id));
    this.send(encodeWelcome(this.extensions));
    if (this.extensions.includes(Extension.Auth)) {
      this.challenge = createChallenge();
      this.send(encodeAuthChallenge(this.challenge));
    } else if (this.state === 'pending') {
      this.refusePending();
    }
  }

  private authProof(body: Buffer): void {
    const challenge = this.challenge;
    if (challenge === null) {
      this.protocolError('AuthProof without a challenge', this.state === 'pending');
      return;
    }
    this.challenge = null;
    if (!verifyProof(challenge, this.key!, body)) {
      this.host.stats.authFailures++;
      this.log().warn({ event: 'auth_failed' }, 'key ownership proof failed');
      this.close('auth failed', 'authentication failed: proof does not match the registered key');
      return;
    }
    this.host.stats.authSuccesses++;
    this.authenticated = true;
    this.send(encodeAuthOk());
    if (this.state === 'pending') this.activate(this.pendingRouteKey);
    this.log().info({ event: 'authenticated' }, 'key ownership proven');
  }

  private refusePending(): void {
    const taken = this.host.lookup(this.pendingRouteKey) !== undefined;
    if (taken) {
      this.host.stats.refusedRegistrations++;
      this.close(
        'key taken',
        'key already registered by another connection; prove ownership (auth extension) to replace it',
      );
    } else {
      this.close(
        'auth required',
        'authentication required: this relay only routes keys proven by the auth extension',
      );
    }
  }

  private protocolError(message: string, fatal: boolean): void {
    this.host.stats.protocolErrors++;
    if (fatal) {
      this.close(message, `protocol error: ${message}`);
    } else {
      this.send(encodeError(`protocol error: ${message}`));
    }
  }

  /** Housekeeping driven by the server's sweep: handshake deadline, liveness pings, idle timeout. */
  sweep(now: number): void {
    const opts = this.host.options;
    if (this.state === 'new' || this.state === 'pending') {
      if (now - this.openedAt > opts.handshakeTimeoutMs) {
        this.close('handshake timeout', 'handshake timeout: register (and authenticate) sooner');
      }
      return;
    }
    if (this.extensions.includes(Extension.Ping)) {
      if (now - this.lastReceivedAt > opts.pingTimeoutMs) {
        this.close('liveness timeout', null);
      } else if (now - this.lastPingAt >= opts.pingIntervalMs) {
        this.lastPingAt = now;
        const token = Buffer.allocUnsafe(PING_TOKEN_SIZE);
        token.writeDoubleBE(now);
        this.send(encodeFrame(FrameType.Ping, token));
      }
    } else if (now - this.lastReceivedAt > opts.idleTimeoutMs) {
      this.close('idle timeout', 'idle timeout: send Keepalive at least every 25 s');
    }
  }
}
