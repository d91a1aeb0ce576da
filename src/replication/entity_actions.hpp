// Reliable changes to a client's set of entities, batched per tick in one message on the entity channel:
//
//   1 bit "registry fingerprint follows" (+ 64 bits; only in a connection's first message), varint tick,
//   varint action count, then per action: 2 bits kind, varint entity, and
//     Spawn:  1 bit owned-by-you, the entity in full (entity_codec.hpp)
//     Despawn: nothing
//     Insert: varint component, its fields in full
//     Remove: varint component
//
// From client to server the same channel carries requests: 1 byte kind (1 = "I lack baseline N") + varint N.
#pragma once

#include <optional>
#include <vector>

#include "replication/entity_codec.hpp"

namespace eustress::net::replication {

enum class ActionKind : std::uint8_t
{
    Spawn = 0,
    Despawn = 1,
    Insert = 2,
    Remove = 3,
};

struct EntityAction
{
    ActionKind kind = ActionKind::Spawn;
    std::uint32_t entity = 0;
    bool owned = false;         ///< Spawn
    ComponentId component = 0;  ///< Insert, Remove
    /// Spawn: the whole entity; Insert: an entity holding just the inserted component.
    QuantizedEntityPtr state;
};

struct ActionBatch
{
    std::optional<std::uint64_t> registry_fingerprint;
    Tick tick = 0;
    std::vector<EntityAction> actions;
};

std::vector<std::byte> encode_actions(const ActionBatch& batch);
DecodeError decode_actions(std::span<const std::byte> bytes, const ComponentRegistry& registry, ActionBatch& out);

/// Client → server: the client could not decode a snapshot because it does not hold this baseline.
std::vector<std::byte> encode_baseline_request(std::uint32_t missing_sequence);
std::optional<std::uint32_t> decode_baseline_request(std::span<const std::byte> bytes);

}  // namespace eustress::net::replication
