import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../src/codec/decoder.js';
import {
  encodeData,
  encodeError,
  encodeFrame,
  encodeKeepalive,
  encodeRegister,
  type Frame,
  FrameType,
  MAX_BODY_SIZE,
  MAX_DATAGRAM_SIZE,
} from '../src/codec/frame.js';
import { FrameLengthError, RelayArgumentError } from '../src/errors.js';

const keyA = Buffer.alloc(32, 0xaa);

function hex(buf: Buffer): string {
  return buf.toString('hex');
}

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): Frame[] {
  const out: Frame[] = [];
  for (const chunk of chunks) {
    for (const frame of decoder.decode(chunk)) out.push({ type: frame.type, body: Buffer.from(frame.body) });
  }
  return out;
}

describe('core frames are byte-exact', () => {
  it('Register: length 33, type 0x01, 32-byte key', () => {
    expect(hex(encodeRegister(keyA))).toBe(`0000002101${'aa'.repeat(32)}`);
  });

  it('Data: length 1+32+n, type 0x02, key, datagram', () => {
    expect(hex(encodeData(keyA, Buffer.from([1, 2, 3])))).toBe(`0000002402${'aa'.repeat(32)}010203`);
  });

  it('Keepalive: length 1, type 0x03, empty body', () => {
    expect(hex(encodeKeepalive())).toBe('0000000103');
  });

  it('Error: length 1+n, type 0xff, UTF-8 text', () => {
    expect(hex(encodeError('no'))).toBe('00000003ff6e6f');
  });

  it('cuts an over-long Error text at a character boundary', () => {
    const frame = encodeError('é'.repeat(40_000));
    expect(frame.readUInt32BE(0)).toBeLessThanOrEqual(65536);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(5))).not.toThrow();
  });

  it('refuses keys that are not 32 bytes and datagrams that do not fit', () => {
    expect(() => encodeRegister(Buffer.alloc(31))).toThrow(RelayArgumentError);
    expect(() => encodeData(keyA, Buffer.alloc(MAX_DATAGRAM_SIZE + 1))).toThrow(RelayArgumentError);
    expect(encodeData(keyA, Buffer.alloc(MAX_DATAGRAM_SIZE)).readUInt32BE(0)).toBe(65536);
  });
});

describe('FrameDecoder', () => {
  const frames = [
    encodeRegister(keyA),
    encodeData(keyA, Buffer.from('hello')),
    encodeKeepalive(),
    encodeData(keyA, Buffer.alloc(300, 7)),
    encodeError('bye'),
  ];
  const stream = Buffer.concat(frames);
  const expected = frames.map((f) => ({ type: f[4], body: f.subarray(5) }));

  it('decodes coalesced frames from one read, as views into that read', () => {
    const decoder = new FrameDecoder();
    const seen: Array<[Buffer, number, number]> = [];
    decoder.push(stream, (buf, start, end) => seen.push([buf, start, end]));
    expect(seen).toHaveLength(frames.length);
    for (const [buf] of seen) expect(buf).toBe(stream);
    expect(decoder.buffered).toBe(0);
  });

  it('decodes the same frames whatever single split point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const got = decodeAll(decoder, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(got).toEqual(expected);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const decoder = new FrameDecoder();
    const chunks = [...stream].map((byte) => Buffer.from([byte]));
    expect(decodeAll(decoder, chunks)).toEqual(expected);
  });

  it('decodes random splits', () => {
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      let at = 0;
      while (at < stream.length) {
        const size = 1 + Math.floor(Math.random() * 600);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(new FrameDecoder(), chunks)).toEqual(expected);
    }
  });

  it('holds a truncated frame back without emitting it', () => {
    const decoder = new FrameDecoder();
    const data = encodeData(keyA, Buffer.alloc(100));
    expect(decodeAll(decoder, [data.subarray(0, 50)])).toEqual([]);
    expect(decoder.buffered).toBe(50);
    expect(decodeAll(decoder, [Buffer.alloc(0), data.subarray(50)])).toHaveLength(1);
    expect(decoder.buffered).toBe(0);
  });

  it('accepts the largest frame, 65536', () => {
    const frame = encodeFrame(FrameType.Data, Buffer.alloc(MAX_BODY_SIZE));
    const got = decodeAll(new FrameDecoder(), [
      frame.subarray(0, 3),
      frame.subarray(3, 40_000),
      frame.subarray(40_000),
    ]);
    expect(got[0]?.body.length).toBe(MAX_BODY_SIZE);
  });

  it('rejects an oversized length as soon as the header is complete, after earlier frames', () => {
    const decoder = new FrameDecoder();
    const bad = Buffer.from([0x00, 0x01, 0x00, 0x01]); // 65537
    const seen: number[] = [];
    expect(() =>
      decoder.push(Buffer.concat([encodeKeepalive(), bad]), (buf, start) => seen.push(buf[start + 4]!)),
    ).toThrow(FrameLengthError);
    expect(seen).toEqual([FrameType.Keepalive]);
    // The stream has lost its framing: the decoder stays failed.
    expect(() => decoder.decode(encodeKeepalive())).toThrow(FrameLengthError);
  });

  it('feed reports a bad length as a value, after earlier frames, and keeps reporting it', () => {
    const decoder = new FrameDecoder();
    const seen: number[] = [];
    const onFrame = (buf: Buffer, start: number) => seen.push(buf[start + 4]!);
    expect(decoder.feed(encodeKeepalive(), onFrame)).toBeNull();
    expect(decoder.feed(Buffer.concat([encodeKeepalive(), Buffer.from([0, 1, 0, 1, 9, 9])]), onFrame)).toBe(
      65_537,
    );
    expect(seen).toEqual([FrameType.Keepalive, FrameType.Keepalive]);
    // Lost framing stays lost: nothing more is delivered, and push throws the same length.
    expect(decoder.feed(encodeKeepalive(), onFrame)).toBe(65_537);
    expect(seen).toHaveLength(2);
    expect(decoder.buffered).toBe(0);
    expect(() => decoder.push(encodeKeepalive(), onFrame)).toThrow(/frame length 65537 outside/);
  });

  it('feed reports a bad length whose header was split across reads, zero included', () => {
    const decoder = new FrameDecoder();
    const none = () => {
      throw new Error('no frame expected');
    };
    expect(decoder.feed(Buffer.from([0, 0]), none)).toBeNull();
    expect(decoder.buffered).toBe(2);
    expect(decoder.feed(Buffer.from([0, 0, 7]), none)).toBe(0);
    expect(decoder.buffered).toBe(0);
    const big = new FrameDecoder();
    expect(big.feed(Buffer.from([0xff, 0xff, 0xff]), none)).toBeNull();
    expect(big.feed(Buffer.from([0xff]), none)).toBe(0xffffffff);
  });

  it('rejects a zero length, also when the header is split', () => {
    const decoder = new FrameDecoder();
    decoder.decode(Buffer.from([0, 0]));
    expect(() => decoder.decode(Buffer.from([0, 0, 1]))).toThrow(/frame length 0 outside 1..65536/);
  });

  it('rejects the maximum u32 length', () => {
    expect(() => new FrameDecoder().decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]))).toThrow(
      FrameLengthError,
    );
  });
});
