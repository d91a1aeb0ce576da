// JetStreamSync's state, shared by its files (jetstream_sync.cpp: writing and merging; forget_player.cpp).
#pragma once

#include "crdt_sync/nats_link.hpp"

namespace eustress::net::crdt {

struct JetStreamSync::Impl
{
    Impl(SyncConfig sync, Document& world, Store& file) : config(std::move(sync)), document(&world), store(&file) {}

    SyncConfig config;
    Document* document;
    Store* store;
    std::string prefix;  // eustress.<world>
    std::unique_ptr<NatsLink> link;
    SyncStats stats;
    std::vector<Inbound> batch;
    std::vector<Bytes> merged;
    std::vector<std::byte> encoded;
    WallTime last_trim_request{0};

    /// Merges a message's delta (or each of a batch's), appending what was accepted to `merged`.
    void apply(Inbound& inbound, WallTime now, bool& compact);
    void merge_one(Bytes delta, WallTime now);
    void refuse(StreamRefusal reason) { ++stats.refused[static_cast<std::size_t>(reason)]; }
    std::string own_subject(char kind, std::string_view player = {}) const
    {
        const std::string replica = std::to_string(document->replica());
        return player.empty() ? prefix + "." + kind + "." + replica
                              : prefix + "." + kind + "." + std::string(player) + "." + replica;
    }
};

}  // namespace eustress::net::crdt
