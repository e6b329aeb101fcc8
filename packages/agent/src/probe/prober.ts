import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { ProbeResult } from '../path/types.js';
import { decodeProbe, encodeProbe, PROBE_PORT } from './codec.js';

/** A probe not answered within this is lost: short, because the path machine waits for it before relaying. */
export const PROBE_TIMEOUT_MS = 1_000;

interface Pending {
  resolve: (result: ProbeResult) => void;
  timer: NodeJS.Timeout;
  sentAtMs: number;
  sentAtHr: bigint;
}

/** A liveness prober as path selection uses it (the real one below; tests substitute their own). */
export interface LivenessProber {
  /** Resolves with the result (never rejects); `sentAtMs` is on the prober's clock. */
  probe(address: string): Promise<ProbeResult>;
  close(): void;
}

/**
 * Sends liveness probes through the tunnel to a peer's first AllowedIP and waits for its agent's answer. One
 * socket for every peer (the kernel routes each probe into the tunnel, source = our mesh address).
 */
export class Prober implements LivenessProber {
  private readonly sockets = new Map<4 | 6, Socket>();
  private readonly pending = new Map<bigint, Pending>();

  constructor(private readonly options: { port?: number; timeoutMs?: number; now?: () => number } = {}) {}

  /** Resolves with the result (never rejects): a send error is a failed probe. */
  probe(address: string): Promise<ProbeResult> {
    const now = this.options.now ?? Date.now;
    const sentAtMs = now();
    const token = randomBytes(8).readBigUInt64BE(0);
    return new Promise<ProbeResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        resolve({ sentAtMs, ok: false });
      }, this.options.timeoutMs ?? PROBE_TIMEOUT_MS);
      this.pending.set(token, { resolve, timer, sentAtMs, sentAtHr: process.hrtime.bigint() });
      this.socket(address.includes(':') ? 6 : 4).send(
        encodeProbe('request', token),
        this.options.port ?? PROBE_PORT,
        address,
        (error) => {
          if (!error) return;
          clearTimeout(timer);
          this.pending.delete(token);
          resolve({ sentAtMs, ok: false });
        },
      );
    });
  }

  close(): void {
    for (const [token, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ sentAtMs: p.sentAtMs, ok: false });
      this.pending.delete(token);
    }
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private socket(family: 4 | 6): Socket {
    let socket = this.sockets.get(family);
    if (socket) return socket;
    socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    socket.on('message', (packet) => {
      const reply = decodeProbe(packet);
      if (reply?.kind !== 'reply') return;
      const p = this.pending.get(reply.token);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(reply.token);
      const rttMs = Number(process.hrtime.bigint() - p.sentAtHr) / 1e6;
      p.resolve({ sentAtMs: p.sentAtMs, ok: true, rttMs });
    });
    socket.on('error', () => undefined);
    socket.unref();
    this.sockets.set(family, socket);
    return socket;
  }
}
