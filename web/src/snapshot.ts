// Replication snapshots as the server writes them today (src/replication/snapshot.hpp, entity_codec.hpp,
// field_codec.hpp; the codec browsers are served): a bit stream, least significant bit first, of a header, then
// entries by ascending entity id, each in full or as a change against the acknowledged baseline's entry. Field
// widths come from the game's components: the page registers, per component id, a reader that takes its fields in
// the order the C++ serialize function does (FieldSource.take(bits), bits 0 = a varint field).

export class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length * 8 - this.bit;
  }

  /// Up to 53 bits (JavaScript numbers); null, consuming nothing, when fewer remain.
  bits(count: number): number | null {
    if (count <= 0 || count > 53 || count > this.remaining) return null;
    let value = 0;
    let filled = 0;
    while (filled < count) {
      const inByte = this.bit & 7;
      const take = Math.min(count - filled, 8 - inByte);
      const part = (this.bytes[this.bit >> 3]! >> inByte) & ((1 << take) - 1);
      value += part * 2 ** filled;
      filled += take;
      this.bit += take;
    }
    return value;
  }

  bool(): boolean | null {
    const bit = this.bits(1);
    return bit === null ? null : bit === 1;
  }

  /// LEB128 in the bit stream, as BitWriter::write_varint; values past 2^53 are refused.
  varint(): number | null {
    let value = 0;
    for (let group = 0; group < 8; ++group) {
      const byte = this.bits(8);
      if (byte === null) return null;
      value += (byte & 0x7f) * 2 ** (7 * group);
      if ((byte & 0x80) === 0) return Number.isSafeInteger(value) ? value : null;
    }
    return null;
  }
}

export interface QuantizedField {
  value: number;
  bits: number;
}
export interface QuantizedComponent {
  id: number;
  fields: QuantizedField[];
}
export type QuantizedEntity = QuantizedComponent[];

/// What a component reader takes its fields from; null means the stream is malformed or truncated.
export interface FieldSource {
  take(bits: number): number | null;
}
/// Reads one component's fields, in the serialize function's order; false when they do not fit it.
export type ComponentReader = (source: FieldSource) => boolean;

export interface SnapshotHeader {
  sequence: number;
  tick: number;
  actionsRequired: number;
  baseline: number; // 0 = none
}
export interface SnapshotEntry {
  entity: number;
  state: QuantizedEntity;
  tick: number; // the tick of the snapshot that wrote it
}
export interface DecodedSnapshot {
  header: SnapshotHeader;
  state: SnapshotEntry[]; // ascending by entity: the baseline's, with this snapshot's entries applied
  written: number[]; // entities this snapshot wrote
}
export type SnapshotError =
  | "truncated"
  | "bad_header"
  | "missing_baseline"
  | "entity_out_of_range"
  | "unknown_component"
  | "component_malformed"
  | "too_many_entries"
  | "trailing_bits"
  | "registry_mismatch";

/// Thrown inside the decoders (this file and entity_actions.ts) and turned into the reason at their boundary.
export class Failure extends Error {
  constructor(readonly reason: SnapshotError) {
    super(reason);
  }
}

export function need<T>(value: T | null, reason: SnapshotError = "truncated"): T {
  if (value === null) throw new Failure(reason);
  return value;
}

const zigzagDecode = (value: number): number => (value % 2 === 0 ? value / 2 : -(value + 1) / 2);

/// A change against the baseline field (field_codec.cpp): raw at 4 bits or fewer, else 4/8/12-bit zigzag
/// magnitudes behind the prefixes 0, 10, 110, or the raw value behind 111.
function readChange(reader: BitReader, baseline: number, bits: number): number | null {
  if (bits === 0) {
    const magnitude = reader.varint();
    return magnitude === null ? null : baseline + zigzagDecode(magnitude + 1);
  }
  if (bits <= 4) return reader.bits(bits);
  let width = 4;
  if (need(reader.bits(1)) === 1) {
    width = 8;
    if (need(reader.bits(1)) === 1) {
      if (need(reader.bits(1)) === 1) return reader.bits(bits);
      width = 12;
    }
  }
  const magnitude = reader.bits(width);
  return magnitude === null ? null : baseline + zigzagDecode(magnitude + 1);
}

function fieldSource(reader: BitReader, baseline: QuantizedField[], out: QuantizedField[]): FieldSource {
  return {
    take(bits: number): number | null {
      const position = out.length;
      const base = baseline[position];
      let value: number | null;
      if (base && base.bits === bits) {
        const changed = reader.bool();
        if (changed === null) return null;
        value = changed ? readChange(reader, base.value, bits) : base.value;
      } else {
        value = bits === 0 ? reader.varint() : reader.bits(bits);
      }
      if (value === null || value < 0 || (bits > 0 && value >= 2 ** bits)) return null;
      out.push(base && base.bits === bits && base.value === value ? base : { value, bits }); // fields are never mutated
      return value;
    },
  };
}

export function readComponent(
  reader: BitReader,
  components: readonly ComponentReader[],
  id: number,
  baseline: QuantizedField[],
): QuantizedComponent {
  const fields: QuantizedField[] = [];
  const read = components[id];
  if (!read) throw new Failure("unknown_component");
  if (!read(fieldSource(reader, baseline, fields)))
    throw new Failure(reader.remaining === 0 ? "truncated" : "component_malformed");
  return { id, fields };
}

export function readEntityFull(reader: BitReader, components: readonly ComponentReader[]): QuantizedEntity {
  const count = need(reader.varint());
  if (count > components.length) throw new Failure("unknown_component");
  const entity: QuantizedEntity = [];
  let previous = -1;
  for (let i = 0; i < count; ++i) {
    const id = previous + 1 + need(reader.varint());
    if (id >= components.length) throw new Failure("unknown_component");
    previous = id;
    entity.push(readComponent(reader, components, id, []));
  }
  return entity;
}

function readEntityDelta(reader: BitReader, components: readonly ComponentReader[], baseline: QuantizedEntity) {
  if (!need(reader.bool())) return readEntityFull(reader, components);
  return baseline.map((component) =>
    need(reader.bool()) ? readComponent(reader, components, component.id, component.fields) : component,
  );
}

/// 1 → "1"; 2..17 → "01" + 4 bits; 18..273 → "001" + 8 bits; else "000" + varint.
function readEntityGap(reader: BitReader): number {
  for (let zeros = 0; zeros < 3; ++zeros) {
    if (need(reader.bits(1)) === 0) continue;
    if (zeros === 0) return 1;
    return need(reader.bits(zeros === 1 ? 4 : 8)) + (zeros === 1 ? 2 : 18);
  }
  return need(reader.varint());
}

function readHeader(reader: BitReader): SnapshotHeader {
  const sequence = need(reader.varint());
  const tick = need(reader.varint());
  const actionsRequired = need(reader.varint());
  const distance = need(reader.varint());
  if (sequence === 0 || sequence > 0xffffffff || tick > 0xffffffff || distance >= sequence)
    throw new Failure("bad_header");
  return { sequence, tick, actionsRequired, baseline: distance === 0 ? 0 : sequence - distance };
}

export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader | SnapshotError {
  try {
    return readHeader(new BitReader(bytes));
  } catch (error) {
    if (error instanceof Failure) return error.reason;
    throw error;
  }
}

/// `baselines`: the states of snapshots this client acknowledged, by sequence.
export function decodeSnapshot(
  bytes: Uint8Array,
  components: readonly ComponentReader[],
  baselines: (sequence: number) => SnapshotEntry[] | undefined,
): DecodedSnapshot | SnapshotError {
  try {
    const reader = new BitReader(bytes);
    const header = readHeader(reader);
    const baseline = header.baseline === 0 ? [] : baselines(header.baseline);
    if (!baseline) return "missing_baseline";
    const count = need(reader.varint());
    if (count > reader.remaining / 2) return "too_many_entries";
    const state: SnapshotEntry[] = [];
    const written: number[] = [];
    let next = 0;
    let entity = 0;
    for (let i = 0; i < count; ++i) {
      const gap = readEntityGap(reader);
      if (gap === 0 || gap > 0xffffffff - entity) return "entity_out_of_range";
      entity += gap;
      while (next < baseline.length && baseline[next]!.entity < entity) state.push(baseline[next++]!);
      const base = next < baseline.length && baseline[next]!.entity === entity ? baseline[next++]!.state : null;
      if (!need(reader.bool())) continue; // removed
      const decoded = base ? readEntityDelta(reader, components, base) : readEntityFull(reader, components);
      state.push({ entity, state: decoded, tick: header.tick });
      written.push(entity);
    }
    while (next < baseline.length) state.push(baseline[next++]!);
    if (reader.remaining >= 8) return "trailing_bits";
    return { header, state, written };
  } catch (error) {
    if (error instanceof Failure) return error.reason;
    throw error;
  }
}
