/**
 * Streaming frame decoder: accepts TCP reads cut anywhere and reports each complete frame as a range of a
 * buffer. Frames that lie wholly inside one read are reported as ranges of that read (no copy); only a frame
 * split across reads is assembled in a buffer of its own, so the carry-over is at most one frame (65540 bytes).
 */
import { FrameLengthError } from '../errors.js';
import { BODY_OFFSET, type Frame, HEADER_SIZE, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH } from './frame.js';

const CHUNK_USED = -1;
const FAILED = -2;

/** Called for each complete frame: `buf[start..end)` is the whole frame, header included. */
export type FrameRangeHandler = (buf: Buffer, start: number, end: number) => void;

export class FrameDecoder {
  /** Header bytes of a frame whose 4-byte length prefix was split across reads. */
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerFill = 0;
  /** The frame being assembled across reads, and how much of it has arrived. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /** The bad length prefix that ended the framing, or -1 while the stream is sound. */
  private failedLength = -1;

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.partial ? this.partialFill : this.headerFill;
  }

  /**
   * Feeds one read. Calls `onFrame` for every frame completed by it, in order, then returns. Throws
   * FrameLengthError as soon as a length prefix is outside 1..65536 (frames before it have been delivered); the
   * decoder stays failed afterwards because the stream has lost its framing.
   */
  push(chunk: Buffer, onFrame: FrameRangeHandler): void {
    const badLength = this.feed(chunk, onFrame);
    if (badLength !== null) throw new FrameLengthError(badLength);
  }

  /**
   * `push` without the exception: returns null when the read was consumed, or the offending length prefix once
   * the framing is lost (frames before it have been delivered; every later call returns it again). The relay
   * uses this form because garbage connections fail here all the time, and an Error with a stack trace per
   * garbage connection was a measurable part of their cost.
   */
  feed(chunk: Buffer, onFrame: FrameRangeHandler): number | null {
    if (this.failedLength >= 0) return this.failedLength;
    let offset = 0;
    if (this.headerFill > 0 || this.partial) {
      offset = this.continuePartial(chunk, onFrame);
      if (offset === CHUNK_USED) return null;
      if (offset === FAILED) return this.failedLength;
    }
    const size = chunk.length;
    while (offset < size) {
      const remaining = size - offset;
      if (remaining < HEADER_SIZE) {
        chunk.copy(this.header, 0, offset, size);
        this.headerFill = remaining;
        return null;
      }
      const length = chunk.readUInt32BE(offset);
      if (length < MIN_FRAME_LENGTH || length > MAX_FRAME_LENGTH) return this.fail(length);
      const frameSize = HEADER_SIZE + length;
      if (remaining >= frameSize) {
        onFrame(chunk, offset, offset + frameSize);
        offset += frameSize;
        continue;
      }
      const partial = Buffer.allocUnsafe(frameSize);
      chunk.copy(partial, 0, offset, size);
      this.partial = partial;
      this.partialFill = remaining;
      return null;
    }
    return null;
  }

  /** Feeds one read and returns its complete frames as (type, body) views. Convenient; the hot path uses push. */
  decode(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    this.push(chunk, (buf, start, end) => {
      frames.push({ type: buf[start + HEADER_SIZE]!, body: buf.subarray(start + BODY_OFFSET, end) });
    });
    return frames;
  }

  /** Completes the frame carried over from earlier reads. Returns the offset to continue at, CHUNK_USED if the
   * chunk was used up, or FAILED if the carried header has a bad length. */
  private continuePartial(chunk: Buffer, onFrame: FrameRangeHandler): number {
    let offset = 0;
    if (!this.partial) {
      const take = Math.min(HEADER_SIZE - this.headerFill, chunk.length);
      chunk.copy(this.header, this.headerFill, 0, take);
      this.headerFill += take;
      offset = take;
      if (this.headerFill < HEADER_SIZE) return CHUNK_USED;
      const length = this.header.readUInt32BE(0);
      this.headerFill = 0;
      if (length < MIN_FRAME_LENGTH || length > MAX_FRAME_LENGTH) {
        this.fail(length);
        return FAILED;
      }
      this.partial = Buffer.allocUnsafe(HEADER_SIZE + length);
      this.header.copy(this.partial, 0);
      this.partialFill = HEADER_SIZE;
    }
    const partial = this.partial;
    const take = Math.min(partial.length - this.partialFill, chunk.length - offset);
    chunk.copy(partial, this.partialFill, offset, offset + take);
    this.partialFill += take;
    offset += take;
    if (this.partialFill < partial.length) return CHUNK_USED;
    this.partial = null;
    this.partialFill = 0;
    onFrame(partial, 0, partial.length);
    return offset;
  }

  private fail(length: number): number {
    this.failedLength = length;
    this.partial = null;
    this.headerFill = 0;
    return length;
  }
}
