// The wire form of document state: a sequence of fragments, each a small piece of one entity's state. A delta
// is the fragments of the mutations it joined; a snapshot is every record's fragments. docs/PERSISTENCE.md has
// the layout. Stamps are written as the zigzag difference from the previous stamp's clock, so the stamps of one
// tick cost a byte or two.
#pragma once

#include <optional>
#include <vector>

#include "eustress/net/crdt.hpp"
#include "wire/byte_reader.hpp"

namespace eustress::net::crdt {

enum class FragmentKind : std::uint8_t
{
    Entity = 1,
    Register = 2,
    Counter = 3,
    LogEntry = 4,
    SequenceInsert = 5,
    SequenceRemoval = 6,
};

/// Clocks stay below this so stamp differences fit a varint (2^45 ms: over a thousand years).
inline constexpr std::uint64_t kMaxHlc = std::uint64_t{1} << 61;
inline constexpr std::uint64_t kMaxCounter = (std::uint64_t{1} << 62) - 1;

/// One parsed fragment. The vectors are reused from one fragment to the next, so reading allocates nothing once
/// they have grown.
struct Fragment
{
    FragmentKind kind = FragmentKind::Entity;
    EntityKey key = 0;
    ComponentId component = 0;
    Stamp stamp;  ///< the watermark of an Entity fragment
    Bytes bytes;
    std::uint64_t increments = 0;
    std::uint64_t decrements = 0;
    std::vector<Dot> dots;
    std::vector<Dot> covered;
    std::vector<Dot> removals;
    Stamp origin;  ///< SequenceInsert: the element inserted after
    Dot inserted;  ///< SequenceInsert and SequenceRemoval: the element's insert event
    Dot removal;   ///< SequenceRemoval: the removing event
};

struct FragmentLimits
{
    std::size_t component_types = 0;
    std::size_t max_value_bytes = 0;
};

void put_varint(std::vector<std::byte>& out, std::uint64_t value);
void put_key(std::vector<std::byte>& out, EntityKey key);
void put_dot(std::vector<std::byte>& out, Dot dot);

void write_entity(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, Stamp watermark,
                  std::span<const Dot> dots, std::span<const Dot> covered, std::span<const Dot> removals);
void write_register(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                    Stamp stamp, Bytes value);
void write_counter(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                   const Stamp& stamp, std::uint64_t increments, std::uint64_t decrements);
void write_log_entry(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                     Stamp stamp, Bytes bytes);

void write_sequence_insert(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                           Stamp id, Stamp origin, Dot inserted, Bytes bytes);
void write_sequence_removal(std::vector<std::byte>& out, std::uint64_t& last_hlc, EntityKey key, ComponentId component,
                            Stamp id, Dot inserted, Dot removal);

/// Reads one fragment; every field is bounds- and range-checked. `last_hlc` carries the stamp chain.
std::optional<Refusal> read_fragment(wire::ByteReader& reader, std::uint64_t& last_hlc, const FragmentLimits& limits,
                                     Fragment& out);
std::optional<Refusal> read_dot(wire::ByteReader& reader, Dot& out);
std::optional<Refusal> read_key(wire::ByteReader& reader, EntityKey& out);

}  // namespace eustress::net::crdt
