/**
 * Coalesces the Data frames one event-loop turn produces into one TCP write.
 *
 * Why: on the relayed path every TCP write runs the whole transmit path (TCP, NAT, veth, often the receiver's
 * softirq) in the writing process, and with Nagle off each write leaves as its own segment. WireGuard hands the
 * proxy its packets in bursts (libuv reads up to 32 datagrams per wake-up), so writing a burst at once turns dozens
 * of segments into one GSO segment at the sender and one read at the relay. The flush runs in the check phase
 * right after the poll phase that read the burst, so a lone packet (a ping) waits for no timer, only for the rest
 * of the current turn.
 *
 * Frames are laid out back to back in a slab; a flush writes the filled part as one slice and the slab keeps
 * filling behind it (written bytes are never touched again), so there is no allocation or copy per packet beyond
 * the one copy of the datagram into the frame.
 */
import { assertDataArguments, DATA_HEADER_SIZE, writeDataHeader } from '../codec/frame.js';

/** Runs `flush` once, later in this event-loop turn (default: setImmediate, the check phase). */
export type FlushScheduler = (flush: () => void) => void;

export const DEFAULT_SLAB_SIZE = 256 * 1024;

const setImmediateScheduler: FlushScheduler = (flush) => {
  setImmediate(flush);
};

export class DataBatch {
  private slab: Buffer;
  /** slab[start..end) holds frames not yet written. */
  private start = 0;
  private end = 0;
  private scheduled = false;
  private discarded = false;
  private readonly flushNow = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    /** Where a batch goes (the connection's socket.write). */
    private readonly write: (chunk: Buffer) => void,
    private readonly schedule: FlushScheduler = setImmediateScheduler,
    private readonly slabSize = DEFAULT_SLAB_SIZE,
  ) {
    this.slab = Buffer.allocUnsafe(slabSize);
  }

  /** Bytes framed but not yet handed to the socket (count them against the send-queue bound). */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  /** Frames `datagram` for `key` and schedules the flush. Returns the frame's size. */
  add(key: Uint8Array, datagram: Uint8Array): number {
    assertDataArguments(key, datagram);
    const size = DATA_HEADER_SIZE + datagram.length;
    if (this.end + size > this.slab.length) {
      // The written part of the old slab belongs to the socket until it is sent; start a fresh one.
      this.flush();
      this.slab = Buffer.allocUnsafe(Math.max(this.slabSize, size));
      this.start = 0;
      this.end = 0;
    }
    writeDataHeader(this.slab, this.end, key, datagram.length);
    this.slab.set(datagram, this.end + DATA_HEADER_SIZE);
    this.end += size;
    if (!this.scheduled && !this.discarded) {
      this.scheduled = true;
      this.schedule(this.flushNow);
    }
    return size;
  }

  /** Writes what is pending now (also before any other frame, so frames leave in the order they were sent). */
  flush(): void {
    if (this.end === this.start || this.discarded) return;
    const chunk = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    this.write(chunk);
  }

  /** The connection is gone: pending frames are dropped (UDP semantics) and nothing is written any more. */
  discard(): void {
    this.discarded = true;
    this.start = this.end;
  }
}
