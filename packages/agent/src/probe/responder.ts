import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { decodeProbe, encodeProbe, PROBE_PORT } from './codec.js';

/** What answers peers' probes, as path selection drives it: `set(address)`, `set(undefined)` stops it. */
export interface LivenessResponder {
  set(address: string | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * Answers peers' liveness probes on this node's mesh address. Bound to that address only (not 0.0.0.0), so it
 * is reached through the tunnel and not from the node's LANs. `set(address)` moves it; `set(undefined)` stops it.
 */
export class ProbeResponder implements LivenessResponder {
  private socket?: Socket;
  private address?: string;
  private reportedFailure?: string;

  constructor(
    private readonly log: Logger,
    private readonly port = PROBE_PORT,
  ) {}

  /** The port actually bound (differs from the configured one only when that was 0, in tests). */
  get boundPort(): number | undefined {
    return this.socket?.address().port;
  }

  async set(address: string | undefined): Promise<void> {
    if (address === this.address && (this.socket || !address)) return;
    await this.close();
    if (!address) return;
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    socket.on('message', (packet, from) => {
      const probe = decodeProbe(packet);
      if (probe?.kind !== 'request') return;
      socket.send(encodeProbe('reply', probe.token), from.port, from.address);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      if (this.reportedFailure === address) return;
      this.reportedFailure = address;
      this.log.warn(
        { event: 'probe-responder-failed', address, port: this.port, err: errorMessage(error) },
        'cannot answer liveness probes on the mesh address; peers will treat direct paths to us as dead',
      );
      return;
    }
    socket.on('error', (error) =>
      this.log.warn({ event: 'probe-responder-error', err: error.message }, 'probe responder error'),
    );
    this.socket = socket;
    this.address = address;
    this.reportedFailure = undefined;
    this.log.info(
      { event: 'probe-responder-started', address, port: this.boundPort },
      'answering liveness probes',
    );
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.address = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
