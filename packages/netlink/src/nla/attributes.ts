// Netlink attribute (struct nlattr) framing, shared by the WireGuard genl codec and rtnetlink extras: u16 length (header included), u16 type, payload, padding to 4.
// Integers inside attributes are in host byte order, as the kernel writes them.
import { endianness } from 'node:os';

export const NLA_HEADER_LEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const LITTLE_ENDIAN = endianness() === 'LE';

export function nlaAlign(length: number): number {
  return (length + 3) & ~3;
}

/** One encoded attribute, header and padding included. */
export function nla(type: number, payload: Uint8Array): Buffer {
  const length = NLA_HEADER_LEN + payload.length;
  const out = Buffer.alloc(nlaAlign(length));
  out.set(u16(length), 0);
  out.set(u16(type), 2);
  out.set(payload, NLA_HEADER_LEN);
  return out;
}

/** A nested attribute. NLA_F_NESTED is always set: kernels since 5.2 refuse nests without it (strict parsing). */
export function nest(type: number, children: readonly Buffer[]): Buffer {
  return nla(type | NLA_F_NESTED, Buffer.concat(children));
}

export function u8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  if (LITTLE_ENDIAN) out.writeUInt16LE(value);
  else out.writeUInt16BE(value);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  if (LITTLE_ENDIAN) out.writeUInt32LE(value >>> 0);
  else out.writeUInt32BE(value >>> 0);
  return out;
}

export function u64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  if (LITTLE_ENDIAN) out.writeBigUInt64LE(value);
  else out.writeBigUInt64BE(value);
  return out;
}

export function cString(value: string): Buffer {
  return Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]);
}

export interface Attribute {
  type: number;
  nested: boolean;
  payload: Buffer;
}

/** Splits a stream of attributes; throws on a truncated or malformed one. */
export function parseAttributes(data: Buffer): Attribute[] {
  const out: Attribute[] = [];
  let offset = 0;
  while (offset + NLA_HEADER_LEN <= data.length) {
    const length = LITTLE_ENDIAN ? data.readUInt16LE(offset) : data.readUInt16BE(offset);
    const rawType = LITTLE_ENDIAN ? data.readUInt16LE(offset + 2) : data.readUInt16BE(offset + 2);
    if (length < NLA_HEADER_LEN || offset + length > data.length) {
      throw new RangeError(`malformed netlink attribute at offset ${offset} (length ${length})`);
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      payload: data.subarray(offset + NLA_HEADER_LEN, offset + length),
    });
    offset += nlaAlign(length);
  }
  if (offset < data.length && data.length - offset >= NLA_HEADER_LEN) {
    throw new RangeError(`trailing bytes after netlink attributes at offset ${offset}`);
  }
  return out;
}

function expectLength(attr: Attribute, length: number): void {
  if (attr.payload.length < length) {
    throw new RangeError(`attribute ${attr.type}: payload ${attr.payload.length} bytes, expected ${length}`);
  }
}

export function readU8(attr: Attribute): number {
  expectLength(attr, 1);
  return attr.payload.readUInt8(0);
}

export function readU16(attr: Attribute): number {
  expectLength(attr, 2);
  return LITTLE_ENDIAN ? attr.payload.readUInt16LE(0) : attr.payload.readUInt16BE(0);
}

export function readU32(attr: Attribute): number {
  expectLength(attr, 4);
  return LITTLE_ENDIAN ? attr.payload.readUInt32LE(0) : attr.payload.readUInt32BE(0);
}

export function readU64(attr: Attribute, offset = 0): bigint {
  expectLength(attr, offset + 8);
  return LITTLE_ENDIAN ? attr.payload.readBigUInt64LE(offset) : attr.payload.readBigUInt64BE(offset);
}

export function readS64(attr: Attribute, offset = 0): bigint {
  expectLength(attr, offset + 8);
  return LITTLE_ENDIAN ? attr.payload.readBigInt64LE(offset) : attr.payload.readBigInt64BE(offset);
}

export function readCString(attr: Attribute): string {
  const end = attr.payload.indexOf(0);
  return attr.payload.subarray(0, end < 0 ? attr.payload.length : end).toString('utf8');
}
