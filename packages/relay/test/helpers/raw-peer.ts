import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/codec/decoder.js';
import { type Frame, FrameType } from '../../src/codec/frame.js';

/** A test client speaking raw frames, recording every frame it receives. */
export class RawPeer {
  readonly frames: Frame[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.decode(chunk)) {
        this.frames.push({ type: frame.type, body: Buffer.from(frame.body) });
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    const socket = connect({ port, host, noDelay: true });
    await once(socket, 'connect');
    return new RawPeer(socket);
  }

  write(...frames: Buffer[]): void {
    for (const frame of frames) this.socket.write(frame);
  }

  /** Waits until `predicate` holds over the received frames (or the socket closed), with a safety timeout. */
  async until(predicate: (frames: Frame[]) => boolean, timeoutMs = 5_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      if (this.closed) return this.frames;
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.frames.length} frames`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames;
  }

  async untilClosed(timeoutMs = 5_000): Promise<void> {
    await this.until(() => false, timeoutMs).catch(() => undefined);
    if (!this.closed) throw new Error('socket still open');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Resolves once `predicate` is true, polling; for conditions outside a RawPeer. */
export async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The texts of the Error frames among `frames`, in order. */
export const errorTexts = (frames: readonly Frame[]): string[] =>
  frames.filter((f) => f.type === FrameType.Error).map((f) => f.body.toString());
