// An entity's networked state as the wire sees it: each component reduced by its serialize function to a list of
// quantized fields. Immutable once built and shared: a client's snapshot history holds pointers, and an entity
// that did not change since a baseline is recognised by pointer equality, without comparing a field.
//
// Its lists keep a typical entity's few components and fields inline, so a state is one allocation (with its
// shared_ptr's control block) and one run of cache lines: the server builds one per moved entity per tick, and
// each client's snapshot compares the component lists of every entity it codes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "eustress/net/world.hpp"

namespace eustress::net::replication {

/// `bits == 0`: a variable-length field (varints, entity ids).
struct QuantizedField
{
    std::uint64_t value = 0;
    std::uint8_t bits = 0;

    friend bool operator==(const QuantizedField&, const QuantizedField&) = default;
};

/// Inline capacities: a transform and a few small components (a transform is 7 fields) without a heap block.
using ComponentList = boost::container::small_vector<ComponentId, 4>;
using FieldList = boost::container::small_vector<QuantizedField, 8>;

struct QuantizedEntity
{
    ComponentList components;                                  ///< ascending
    boost::container::small_vector<std::uint32_t, 5> offsets;  ///< components.size() + 1 bounds into `fields`
    FieldList fields;
    /// The server's reclamation mark (retired_states.hpp): the last tick a snapshot record was known to name this
    /// state. Not part of the value: equality ignores it.
    mutable Tick last_named = 0;

    std::span<const QuantizedField> fields_of(std::size_t index) const
    {
        return std::span<const QuantizedField>(fields.data() + offsets[index], offsets[index + 1] - offsets[index]);
    }
    friend bool operator==(const QuantizedEntity& a, const QuantizedEntity& b)
    {
        return a.components == b.components && a.offsets == b.offsets && a.fields == b.fields;
    }

    std::optional<std::size_t> index_of(ComponentId component) const;
    bool same_components(const QuantizedEntity& other) const { return components == other.components; }

    /// Appends a component whose fields were pushed onto `fields` since `begin_component`.
    void begin_component(ComponentId component);
    void end_component();
    /// Drops the component begun last (its serialize function failed).
    void abandon_component();
};

using QuantizedEntityPtr = std::shared_ptr<const QuantizedEntity>;

/// A hash of the value (`last_named` aside): equal entities hash equal, so unequal hashes prove a change without
/// reading the other entity. Inline, word by word: the World hashes every moved entity every tick.
inline std::uint64_t value_hash(const QuantizedEntity& entity) noexcept
{
    std::uint64_t hash = entity.components.size();
    const auto mix = [&hash](std::uint64_t word) {
        hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
        hash ^= hash >> 29;
    };
    for (ComponentId component : entity.components)
        mix(component);
    for (std::uint32_t offset : entity.offsets)
        mix(offset);
    for (const QuantizedField& field : entity.fields)
        mix(field.value + (std::uint64_t{field.bits} << 57));
    return hash;
}

/// Runs each component's serialize function (writing) into fields. A component whose serialize fails (a value
/// out of its declared range) is left out and counted in `failures`.
QuantizedEntityPtr quantize_entity(const ComponentRegistry& registry,
                                   std::span<std::pair<ComponentId, std::any>> components, std::uint64_t& failures);
/// The same into `out`, cleared first and its capacity kept: the World quantizes each moved entity into one
/// scratch entity and allocates only when the result is kept as a new state.
void quantize_entity_into(const ComponentRegistry& registry, std::span<std::pair<ComponentId, std::any>> components,
                          std::uint64_t& failures, QuantizedEntity& out);

/// Runs a component's serialize function (reading) over fields already decoded, into `value`.
/// `map_entity` turns server entity ids into the reader's; false when the fields do not fit the serialize function.
bool materialize_component(const ComponentRegistry& registry, ComponentId component,
                           std::span<const QuantizedField> fields, std::any& value,
                           const std::function<EntityId(std::uint64_t)>& map_entity);

}  // namespace eustress::net::replication
