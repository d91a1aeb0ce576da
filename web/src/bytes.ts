// Byte readers and writers for the session's framing: little-endian integers and QUIC varints (RFC 9000 section
// 16), as the C++ side writes them (src/wire/byte_reader.hpp, byte_writer.hpp). Readers throw WireError on
// truncated input; decoders turn that into a refusal with a reason.

export class WireError extends Error {}

export class ByteReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  u8(): number {
    if (this.remaining < 1) throw new WireError("truncated");
    return this.bytes[this.offset++]!;
  }

  u16(): number {
    const low = this.u8();
    return low | (this.u8() << 8);
  }

  u64(): bigint {
    let value = 0n;
    for (let i = 0; i < 8; ++i) value |= BigInt(this.u8()) << BigInt(8 * i);
    return value;
  }

  /// QUIC varint, returned as a number: every length and id we read fits 2^53.
  varint(): number {
    const first = this.u8();
    const length = 1 << (first >> 6);
    let value = first & 0x3f;
    for (let i = 1; i < length; ++i) value = value * 256 + this.u8();
    return value;
  }

  take(count: number): Uint8Array {
    if (count < 0 || this.remaining < count) throw new WireError("truncated");
    const view = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return view;
  }

  rest(): Uint8Array {
    return this.take(this.remaining);
  }
}

export class ByteWriter {
  private readonly parts: number[] = [];

  u8(value: number): this {
    this.parts.push(value & 0xff);
    return this;
  }

  u16(value: number): this {
    return this.u8(value).u8(value >> 8);
  }

  u64(value: bigint): this {
    for (let i = 0; i < 8; ++i) this.u8(Number((value >> BigInt(8 * i)) & 0xffn));
    return this;
  }

  varint(value: number): this {
    if (value < 0 || !Number.isSafeInteger(value)) throw new WireError("varint out of range");
    if (value < 1 << 6) return this.u8(value);
    if (value < 1 << 14) return this.u8(0x40 | (value >> 8)).u8(value);
    if (value < 2 ** 30) {
      return this.u8(0x80 | (value >>> 24)).u8(value >>> 16).u8(value >>> 8).u8(value);
    }
    const high = Math.floor(value / 2 ** 32);
    this.u8(0xc0 | (high >>> 24)).u8(high >>> 16).u8(high >>> 8).u8(high);
    return this.u8(value >>> 24).u8(value >>> 16).u8(value >>> 8).u8(value);
  }

  bytes(data: Uint8Array): this {
    for (const byte of data) this.parts.push(byte);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
