// Helpers for the CRDT tests: replicas of one world and bytes from strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt::testing {

inline Bytes bytes_of(std::string_view text)
{
    return as_bytes_of(text);
}

inline std::string text_of(std::optional<Bytes> bytes)
{
    if (!bytes)
        return "<absent>";
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

inline DocumentConfig config_for(ReplicaId replica, std::vector<ReplicaId> replicas)
{
    DocumentConfig config;
    config.replica = replica;
    config.replicas = std::move(replicas);
    config.component_types = 8;
    return config;
}

/// Replicas 1..count of one world.
inline std::vector<Document> make_replicas(std::size_t count)
{
    std::vector<ReplicaId> ids;
    for (std::size_t i = 1; i <= count; ++i)
        ids.push_back(static_cast<ReplicaId>(i));
    std::vector<Document> replicas;
    for (const ReplicaId id : ids)
        replicas.emplace_back(config_for(id, ids));
    return replicas;
}

inline constexpr WallTime kStart{1'800'000'000'000};  // a wall clock in 2027

}  // namespace eustress::net::crdt::testing
