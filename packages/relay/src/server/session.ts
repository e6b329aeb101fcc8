/**
 * One client connection on the relay: the socket, the forwarding hot path and backpressure. Everything else a
 * connection may do (registration, extensions, proof, liveness, Control) is decided by the pure machine in
 * handshake.ts; this class feeds it frames and ticks and applies its effects.
 *
 * Forwarding never copies a frame: the source key is written over the destination key in place inside the
 * received chunk, consecutive frames to the same destination stay one contiguous slice, and each destination gets
 * one write (or one corked writev) per read of the sender.
 */
import type { Socket } from 'node:net';
import { keyToBase64 } from '../auth/keys.js';
import { FrameDecoder } from '../codec/decoder.js';
import { Extension, encodeControl } from '../codec/extensions.js';
import { BODY_OFFSET, encodeError, FrameType, HEADER_SIZE, KEY_SIZE } from '../codec/frame.js';
import { frameLengthMessage } from '../errors.js';
import type { TimerHandle } from '../timers.js';
import {
  type CloseLogLevel,
  type HandshakeEnv,
  initialSessionState,
  nextSession,
  type SessionCounter,
  type SessionInput,
  type SessionState,
  type Transition,
} from './handshake.js';
import type { ResolvedServerOptions } from './options.js';
import type { RelayStats } from './stats.js';

const DATA_MIN_FRAME = BODY_OFFSET + KEY_SIZE;

/** What a session needs from the server that owns the routing table. */
export interface SessionHost {
  readonly options: ResolvedServerOptions;
  readonly handshake: HandshakeEnv;
  readonly stats: RelayStats;
  /** Bumped on every routing change, so sessions can cache a lookup safely. */
  readonly routesVersion: number;
  lookup(key: string): Session | undefined;
  /** Routes `key` to `session`, closing a previous holder. */
  route(key: string, session: Session): void;
  unroute(key: string, session: Session): void;
  forget(session: Session): void;
  /** Spends one line of the per-connection log budget: false = count it instead of writing it. */
  mayLog(): boolean;
}

export class Session {
  /** The protocol state (handshake.ts). The booleans below mirror it for the hot path. */
  machine: SessionState;
  /** Routed: Data to its key reaches it. */
  active = false;
  closed = false;
  /** Agreed to the control extension: Control frames may be delivered to it. */
  controlEnabled = false;
  /** The claimed key once registered, raw and (when routed) as the routing-table string (latin1 of the 32 bytes). */
  key: Buffer | null = null;
  routeKey = '';
  readonly openedAt: number;
  lastReceivedAt: number;
  /** The source address the server's penalty counts this connection against (null: none). */
  source: string | null = null;
  /** Ever routed, and whether it broke the protocol: what decides a strike against its source when it ends. */
  private everRouted = false;
  private violated = false;

  // Outgoing slices gathered for this session while a sender processes one read.
  outPieces: Buffer[] = [];
  outBytes = 0;

  private readonly decoder = new FrameDecoder();
  private lastNoRouteErrorAt = Number.NEGATIVE_INFINITY;
  private closeTimer: TimerHandle | null = null;
  private wakeTimer: TimerHandle | null = null;

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
    this.machine = initialSessionState(this.openedAt);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (host.options.logger.isLevelEnabled('debug'))
        this.log(
          'debug',
          { event: 'connection-error', errno: error.code, err: error.message },
          'socket error',
        );
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

  /** A strike against its source: it broke the protocol, or it ended without ever registering. */
  get struck(): boolean {
    return this.violated || !this.everRouted;
  }

  get authenticated(): boolean {
    return this.machine.phase === 'active' && this.machine.authenticated;
  }

  get extensions(): readonly Extension[] {
    const machine = this.machine;
    return machine.phase === 'active' || machine.phase === 'proving' ? machine.extensions : [];
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
    if (this.closed) return;
    if (this.socket.writableLength > this.host.options.maxQueueBytes) {
      this.close('send queue full', null);
      return;
    }
    this.socket.write(frame);
  }

  /** Closes the connection, optionally telling the client why in an Error frame first. */
  close(reason: string, errorText: string | null, level: CloseLogLevel = 'info'): void {
    if (this.closed) return;
    if (this.host.options.logger.isLevelEnabled(level))
      this.log(level, { event: 'connection-closed', reason }, 'closing relay connection');
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

  /** Housekeeping driven by the server's sweep (and the machine's own wake-ups): deadlines, pings, idle. */
  sweep(now: number): void {
    if (this.closed) return;
    this.apply(
      nextSession(
        this.machine,
        { kind: 'tick', now, lastReceivedAt: this.lastReceivedAt, keyTaken: this.keyTaken() },
        this.host.handshake,
      ),
    );
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.active = false;
    this.controlEnabled = false;
    if (this.machine.phase !== 'closed') this.machine = { phase: 'closed', reason: 'socket closed' };
    if (this.routeKey) this.host.unroute(this.routeKey, this);
    this.host.forget(this);
    this.cachedDest = null;
    if (this.wakeTimer) this.host.options.timers.clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.resumeReading();
    this.releaseWaiters();
    this.outPieces.length = 0;
    this.outBytes = 0;
  }

  /** One line with the connection's fields: merged into the line rather than a child logger per line, which
   * cost more than the line itself on a relay fed garbage connections. */
  private log(level: 'debug' | 'info' | 'warn', fields: object, message: string): void {
    if (!this.host.mayLog()) return;
    this.host.options.logger[level](
      { conn: this.id, remote: this.remote, peer: this.peer, ...fields },
      message,
    );
  }

  // ---- hot path -------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReceivedAt = this.host.options.timers.now();
    const badLength = this.decoder.feed(chunk, this.onFrame);
    this.flushRun();
    this.flushTouched();
    if (badLength !== null && !this.closed) {
      const message = frameLengthMessage(badLength);
      const now = this.host.options.timers.now();
      this.apply(nextSession(this.machine, { kind: 'malformed', message, now }, this.host.handshake));
    }
  }

  private readonly onFrame = (buf: Buffer, start: number, end: number): void => {
    if (buf[start + HEADER_SIZE] === FrameType.Data && this.active) {
      this.forward(buf, start, end);
      return;
    }
    // The rest of a read after a fatal error is ignored.
    if (this.closed) return;
    // Other frames are rare: close any run so that output order follows input order.
    this.flushRun();
    this.onControlFrame(buf[start + HEADER_SIZE]!, buf.subarray(start + BODY_OFFSET, end));
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
      cached?.active &&
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
    if (dest.closed) {
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
    if (pieces.length === 0 || this.closed) return;
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
    if (this.pausedOn !== null || this.closed) return;
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
    if (!this.closed) this.socket.resume();
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

  // ---- the protocol machine --------------------------------------------------------------------------------

  private onControlFrame(type: number, body: Buffer): void {
    const input: SessionInput = {
      kind: 'frame',
      type,
      body,
      now: this.host.options.timers.now(),
      keyTaken: this.keyTaken(type, body),
    };
    this.apply(nextSession(this.machine, input, this.host.handshake));
  }

  /** Whether another connection holds the key this one claims (for a Register frame: the key in its body). */
  private keyTaken(type?: number, body?: Buffer): boolean {
    const machine = this.machine;
    let key: string;
    if (machine.phase === 'pending' || machine.phase === 'proving') key = machine.key.toString('latin1');
    else if (machine.phase === 'new' && type === FrameType.Register && body?.length === KEY_SIZE)
      key = body.toString('latin1');
    else return false;
    const holder = this.host.lookup(key);
    return holder !== undefined && holder !== this;
  }

  private apply(transition: Transition): void {
    const machine = transition.state;
    this.machine = machine;
    if (machine.phase !== 'new' && machine.phase !== 'closed') this.key = machine.key;
    this.controlEnabled = machine.phase === 'active' && machine.extensions.includes(Extension.Control);
    for (const effect of transition.effects) {
      switch (effect.kind) {
        case 'send':
          this.send(effect.frame);
          break;
        case 'route':
          this.active = true;
          this.everRouted = true;
          this.routeKey = effect.key.toString('latin1');
          this.host.route(this.routeKey, this);
          break;
        case 'close':
          this.close(effect.reason, effect.errorText, effect.level);
          break;
        case 'count':
          if (effect.counter === 'protocolErrors' || effect.counter === 'authFailures') this.violated = true;
          this.count(effect.counter);
          break;
        case 'control':
          this.forwardControl(effect.destination, effect.payload);
          break;
        case 'log':
          // The child logger (and the peer address it reads) only when the line is written.
          if (this.host.options.logger.isLevelEnabled(effect.level))
            this.log(effect.level, { event: effect.event, ...effect.fields }, effect.message);
          break;
      }
    }
    if (transition.wakeAt !== undefined && !this.closed) this.wakeAt(transition.wakeAt);
  }

  private wakeAt(at: number): void {
    const timers = this.host.options.timers;
    if (this.wakeTimer) timers.clearTimeout(this.wakeTimer);
    this.wakeTimer = timers.setTimeout(
      () => {
        this.wakeTimer = null;
        this.sweep(timers.now());
      },
      Math.max(0, at - timers.now()),
    );
    this.wakeTimer.unref?.();
  }

  private count(counter: SessionCounter): void {
    const stats = this.host.stats;
    switch (counter) {
      case 'unregistered':
        stats.drops.unregistered++;
        return;
      case 'controlRateLimited':
        stats.drops.rate_limited++;
        return;
      default:
        stats[counter]++;
    }
  }

  private forwardControl(destination: Buffer, payload: Buffer): void {
    const stats = this.host.stats;
    const dest = this.host.lookup(destination.toString('latin1'));
    if (dest === undefined) {
      stats.drops.no_route++;
      this.reportNoRoute(destination);
      return;
    }
    if (dest === this) {
      stats.drops.self++;
      return;
    }
    if (!dest.controlEnabled) {
      stats.drops.no_control++;
      return;
    }
    if (dest.socket.writableLength > this.host.options.maxQueueBytes) {
      stats.drops.queue_full++;
      return;
    }
    dest.socket.write(encodeControl(this.key!, payload));
    stats.controlForwarded++;
  }
}
