import { describe, expect, it } from 'vitest';
import { DataBatch } from '../src/client/data-batch.js';
import { FrameDecoder } from '../src/codec/decoder.js';
import { encodeData, FrameType, KEY_SIZE, MAX_DATAGRAM_SIZE } from '../src/codec/frame.js';
import { RelayArgumentError } from '../src/errors.js';

const key = (byte: number) => Buffer.alloc(KEY_SIZE, byte);

/** A batch whose flushes the test runs by hand, recording every write. */
function harness(slabSize?: number) {
  const writes: Buffer[] = [];
  const scheduled: Array<() => void> = [];
  const batch = new DataBatch(
    (chunk) => writes.push(Buffer.from(chunk)),
    (flush) => scheduled.push(flush),
    slabSize,
  );
  const endOfTurn = () => {
    for (const flush of scheduled.splice(0)) flush();
  };
  return { batch, writes, scheduled, endOfTurn };
}

describe('DataBatch', () => {
  it('writes every Data frame of one event-loop turn in one write, byte-exact with encodeData', () => {
    const { batch, writes, scheduled, endOfTurn } = harness();
    const frames = [
      [key(1), Buffer.from('first')],
      [key(2), Buffer.from('second')],
      [key(1), Buffer.alloc(1452, 7)],
    ] as const;
    for (const [k, d] of frames) expect(batch.add(k, d)).toBe(encodeData(k, d).length);
    expect(scheduled).toHaveLength(1);
    expect(writes).toEqual([]);
    expect(batch.pendingBytes).toBe(frames.reduce((n, [k, d]) => n + encodeData(k, d).length, 0));
    endOfTurn();
    expect(writes).toEqual([Buffer.concat(frames.map(([k, d]) => encodeData(k, d)))]);
    expect(batch.pendingBytes).toBe(0);
  });

  it('schedules one flush per turn and nothing when the turn sent nothing', () => {
    const { batch, writes, scheduled, endOfTurn } = harness();
    endOfTurn();
    batch.add(key(1), Buffer.from('a'));
    endOfTurn();
    endOfTurn();
    batch.add(key(1), Buffer.from('b'));
    batch.add(key(1), Buffer.from('c'));
    expect(scheduled).toHaveLength(1);
    endOfTurn();
    const bodies = writes.map((w) =>
      new FrameDecoder().decode(w).map((f) => f.body.subarray(KEY_SIZE).toString()),
    );
    expect(bodies).toEqual([['a'], ['b', 'c']]);
  });

  it('flush() writes the pending frames at once, so a frame written after them keeps its place', () => {
    const { batch, writes, endOfTurn } = harness();
    batch.add(key(1), Buffer.from('before'));
    batch.flush();
    writes.push(Buffer.from('control'));
    batch.add(key(1), Buffer.from('after'));
    endOfTurn();
    expect(writes).toEqual([
      encodeData(key(1), Buffer.from('before')),
      Buffer.from('control'),
      encodeData(key(1), Buffer.from('after')),
    ]);
  });

  it('never rewrites bytes already handed to the socket when the slab runs out', () => {
    const { batch, writes, endOfTurn } = harness(100);
    const frame = Buffer.alloc(40, 1); // 77-byte frames: one per 100-byte slab
    batch.add(key(1), frame);
    batch.add(key(2), frame); // does not fit behind it: the first is written, a fresh slab takes this one
    expect(writes).toHaveLength(1);
    const first = writes[0]!;
    batch.add(key(3), Buffer.alloc(MAX_DATAGRAM_SIZE, 2)); // larger than the slab: gets a slab of its own
    endOfTurn();
    expect(first).toEqual(encodeData(key(1), frame));
    const decoded = writes.flatMap((w) => new FrameDecoder().decode(w));
    expect(decoded.map((f) => [f.type, f.body[0], f.body.length])).toEqual([
      [FrameType.Data, 1, KEY_SIZE + 40],
      [FrameType.Data, 2, KEY_SIZE + 40],
      [FrameType.Data, 3, KEY_SIZE + MAX_DATAGRAM_SIZE],
    ]);
  });

  it('drops what is pending once discarded (the connection is gone) and writes nothing more', () => {
    const { batch, writes, endOfTurn } = harness();
    batch.add(key(1), Buffer.from('lost'));
    batch.discard();
    endOfTurn();
    batch.flush();
    expect(writes).toEqual([]);
    expect(batch.pendingBytes).toBe(0);
  });

  it('refuses a bad key or an oversized datagram, naming the argument, and keeps what it had', () => {
    const { batch, writes, endOfTurn } = harness();
    batch.add(key(1), Buffer.from('kept'));
    expect(() => batch.add(Buffer.alloc(31), Buffer.from('x'))).toThrow(RelayArgumentError);
    expect(() => batch.add(key(1), Buffer.alloc(MAX_DATAGRAM_SIZE + 1))).toThrow(/datagram/);
    endOfTurn();
    expect(writes).toEqual([encodeData(key(1), Buffer.from('kept'))]);
  });
});
