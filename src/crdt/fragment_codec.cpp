#include "crdt/fragment_codec.hpp"

#include <cstring>

#include "wire/varint.hpp"

namespace eustress::net::crdt {

namespace {

std::uint64_t zigzag(std::int64_t value) noexcept
{
    return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}
std::int64_t unzigzag(std::uint64_t value) noexcept
{
    return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

void put_stamp(std::vector<std::byte>& out, std::uint64_t& last_hlc, Stamp stamp)
{
    put_varint(out, zigzag(static_cast<std::int64_t>(stamp.hlc - last_hlc)));
    put_varint(out, stamp.replica);
    last_hlc = stamp.hlc;
}

void put_bytes(std::vector<std::byte>& out, Bytes bytes)
{
    put_varint(out, bytes.size());
    const std::size_t at = out.size();
    out.resize(at + bytes.size());
    if (!bytes.empty())
        std::memcpy(out.data() + at, bytes.data(), bytes.size());
}

void put_dots(std::vector<std::byte>& out, std::span<const Dot> dots)
{
    put_varint(out, dots.size());
    for (const Dot& dot : dots)
        put_dot(out, dot);
}

void put_head(std::vector<std::byte>& out, FragmentKind kind, EntityKey key)
{
    out.push_back(static_cast<std::byte>(kind));
    put_key(out, key);
}

/// Registers and log entries: a component, a stamp and bytes.
void put_bytes_fragment(std::vector<std::byte>& out, std::uint64_t& last_hlc, FragmentKind kind, EntityKey key,
                        ComponentId component, Stamp stamp, Bytes bytes)
{
    put_head(out, kind, key);
    put_varint(out, component);
    put_stamp(out, last_hlc, stamp);
    put_bytes(out, bytes);
}

std::optional<Refusal> read_stamp(wire::ByteReader& reader, std::uint64_t& last_hlc, Stamp& out)
{
    const auto difference = reader.read_varint();
    const auto replica = reader.read_varint();
    if (!difference || !replica)
        return Refusal::Truncated;
    const std::uint64_t hlc = last_hlc + static_cast<std::uint64_t>(unzigzag(*difference));
    // Replica 0 only in the zero stamp: the watermark of an entity never spawned or despawned here.
    if (hlc >= kMaxHlc || *replica > kMaxReplica || (*replica == 0) != (hlc == 0))
        return Refusal::Malformed;
    out = Stamp{hlc, static_cast<ReplicaId>(*replica)};
    last_hlc = hlc;
    return std::nullopt;
}

std::optional<Refusal> read_dots(wire::ByteReader& reader, std::vector<Dot>& out)
{
    const auto count = reader.read_varint();
    if (!count)
        return Refusal::Truncated;
    if (*count > reader.remaining() / 2)  // a dot takes two bytes at least
        return Refusal::AbsurdCount;
    out.resize(*count);
    for (Dot& dot : out)
        if (auto refused = read_dot(reader, dot))
            return refused;
    return std::nullopt;
}

std::optional<Refusal> read_value(wire::ByteReader& reader, const FragmentLimits& limits, Bytes& out)
{
    const auto size = reader.read_varint();
    if (!size)
        return Refusal::Truncated;
    if (*size > limits.max_value_bytes)
        return Refusal::OversizedValue;
    const auto bytes = reader.read_bytes(*size);
    if (!bytes)
        return Refusal::Truncated;
    out = *bytes;
    return std::nullopt;
}

std::optional<Refusal> read_component(wire::ByteReader& reader, const FragmentLimits& limits, ComponentId& out)
{
    const auto component = reader.read_varint();
    if (!component)
        return Refusal::Truncated;
    if (*component >= limits.component_types)
        return Refusal::UnknownComponent;
    out = static_cast<ComponentId>(*component);
    return std::nullopt;
}

/// Sequence fragments: the element's origin (an insert) or removing event (a removal) after its stamp. An
/// element's insert event is its own author's; an origin is older than the element.
std::optional<Refusal> read_sequence_body(wire::ByteReader& reader, std::uint64_t& last_hlc,
                                          const FragmentLimits& limits, Fragment& out)
{
    if (out.kind == FragmentKind::SequenceInsert)
        if (auto refused = read_stamp(reader, last_hlc, out.origin))
            return refused;
    if (auto refused = read_dot(reader, out.inserted))
        return refused;
    if (out.inserted.replica != out.stamp.replica)
        return Refusal::Malformed;
    if (out.kind == FragmentKind::SequenceRemoval)
        return read_dot(reader, out.removal);
    if (!(out.origin < out.stamp))
        return Refusal::Malformed;
    return read_value(reader, limits, out.bytes);
}

std::optional<Refusal> read_body(wire::ByteReader& reader, std::uint64_t& last_hlc, const FragmentLimits& limits,
                                 Fragment& out)
{
    if (out.kind == FragmentKind::Entity)
    {
        if (auto refused = read_stamp(reader, last_hlc, out.stamp))
            return refused;
        for (auto* dots : {&out.dots, &out.covered, &out.removals})
            if (auto refused = read_dots(reader, *dots))
                return refused;
        return std::nullopt;
    }
    if (auto refused = read_component(reader, limits, out.component))
        return refused;
    if (auto refused = read_stamp(reader, last_hlc, out.stamp))
        return refused;
    if (out.kind == FragmentKind::SequenceInsert || out.kind == FragmentKind::SequenceRemoval)
        return read_sequence_body(reader, last_hlc, limits, out);
    if (out.kind != FragmentKind::Counter)
        return read_value(reader, limits, out.bytes);
    const auto increments = reader.read_varint();
    const auto decrements = reader.read_varint();
    if (!increments || !decrements)
        return Refusal::Truncated;
    out.increments = *increments;
    out.decrements = *decrements;
    return std::nullopt;
}

}  // namespace

void put_varint(std::vector<std::byte>& out, std::uint64_t value)
{
    const std::size_t length = wire::varint_size(value);
    const std::size_t at = out.size();
    out.resize(at + length);
    wire::encode_varint(value, std::span<std::byte>(out.data() + at, length));
}

void put_key(std::vector<std::byte>& out, EntityKey key)
{
    put_varint(out, key_replica(key));
    put_varint(out, key_sequence(key));
}

void put_dot(std::vector<std::byte>& out, Dot dot)
{
    put_varint(out, dot.replica);
    put_varint(out, dot.counter);
}

void write_entity(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, Stamp watermark,
                  std::span<const Dot> dots, std::span<const Dot> covered, std::span<const Dot> removals)
{
    put_head(out, FragmentKind::Entity, key);
    put_stamp(out, last_hlc, watermark);
    put_dots(out, dots);
    put_dots(out, covered);
    put_dots(out, removals);
}

void write_register(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                    Stamp stamp, Bytes value)
{
    put_bytes_fragment(out, last_hlc, FragmentKind::Register, key, component, stamp, value);
}

void write_counter(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                   const Stamp& stamp, std::uint64_t increments, std::uint64_t decrements)
{
    put_head(out, FragmentKind::Counter, key);
    put_varint(out, component);
    put_stamp(out, last_hlc, stamp);
    put_varint(out, increments);
    put_varint(out, decrements);
}

void write_log_entry(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                     Stamp stamp, Bytes bytes)
{
    put_bytes_fragment(out, last_hlc, FragmentKind::LogEntry, key, component, stamp, bytes);
}

void write_sequence_insert(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                           Stamp id, Stamp origin, Dot inserted, Bytes bytes)
{
    put_head(out, FragmentKind::SequenceInsert, key);
    put_varint(out, component);
    put_stamp(out, last_hlc, id);
    put_stamp(out, last_hlc, origin);
    put_dot(out, inserted);
    put_bytes(out, bytes);
}

void write_sequence_removal(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                            Stamp id, Dot inserted, Dot removal)
{
    put_head(out, FragmentKind::SequenceRemoval, key);
    put_varint(out, component);
    put_stamp(out, last_hlc, id);
    put_dot(out, inserted);
    put_dot(out, removal);
}

std::optional<Refusal> read_dot(wire::ByteReader& reader, Dot& out)
{
    const auto replica = reader.read_varint();
    const auto counter = reader.read_varint();
    if (!replica || !counter)
        return Refusal::Truncated;
    if (*replica == 0 || *replica > kMaxReplica || *counter == 0)
        return Refusal::Malformed;
    out = Dot{static_cast<ReplicaId>(*replica), *counter};
    return std::nullopt;
}

std::optional<Refusal> read_key(wire::ByteReader& reader, EntityKey& out)
{
    const auto replica = reader.read_varint();
    const auto sequence = reader.read_varint();
    if (!replica || !sequence)
        return Refusal::Truncated;
    if (*replica == 0 || *replica > kMaxReplica || *sequence == 0 || *sequence >> kKeySequenceBits != 0)
        return Refusal::Malformed;
    out = entity_key(static_cast<ReplicaId>(*replica), *sequence);
    return std::nullopt;
}

std::optional<Refusal> read_fragment(wire::ByteReader& reader, std::uint64_t& last_hlc, const FragmentLimits& limits,
                                     Fragment& out)
{
    const auto tag = reader.read_u8();
    if (!tag)
        return Refusal::Truncated;
    if (*tag < static_cast<std::uint8_t>(FragmentKind::Entity) ||
        *tag > static_cast<std::uint8_t>(FragmentKind::SequenceRemoval))
        return Refusal::Malformed;
    out.kind = static_cast<FragmentKind>(*tag);
    out.dots.clear();
    out.covered.clear();
    out.removals.clear();
    out.bytes = {};
    if (auto refused = read_key(reader, out.key))
        return refused;
    return read_body(reader, last_hlc, limits, out);
}

}  // namespace eustress::net::crdt
