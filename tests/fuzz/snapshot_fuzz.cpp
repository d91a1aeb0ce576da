// The client's replication parsers: snapshots (against a baseline), entity actions and baseline requests, then
// the mirror's decoding of every component that parsed.
#include <functional>
#include <random>

#include "replication/codec_fixture.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ComponentRegistry registry = [] {
        ComponentRegistry built;
        testing::register_codec_components(built);
        return built;
    }();
    // Entries that carry the state they replaced, six ticks earlier, so the predictive format's prediction runs
    // (for snapshots with ticks 101..355).
    static const replication::SnapshotState baseline = [] {
        std::mt19937_64 random(1);
        auto state = testing::random_state(registry, random, 24);
        const auto older = testing::random_state(registry, random, 24);
        for (std::size_t i = 0; i < state.size(); ++i)
        {
            state[i].tick = 100;
            state[i].previous = older[i].state;
            state[i].previous_tick = 94;
        }
        return state;
    }();

    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    const std::function<EntityId(std::uint64_t)> map = [](std::uint64_t id) {
        return EntityId{static_cast<std::uint32_t>(id)};
    };

    replication::DecodedSnapshot snapshot;
    const auto lookup = [](std::uint32_t sequence) {
        return sequence % 2 ? &baseline : nullptr;
    };
    if (replication::decode_snapshot(bytes, registry, lookup, snapshot) == replication::DecodeError::None)
    {
        // What a snapshot that decodes promises the mirror: ids strictly ascending (so none repeats), every one
        // nonzero. An id gap that wraps the running id breaks it (snapshot_fuzz.dict has the long varints).
        for (std::size_t i = 0; i < snapshot.state.size(); ++i)
            if (snapshot.state[i].entity == 0 || (i > 0 && snapshot.state[i - 1].entity >= snapshot.state[i].entity))
                __builtin_trap();
        for (std::size_t i = 1; i < snapshot.written.size(); ++i)
            if (snapshot.written[i - 1] >= snapshot.written[i])
                __builtin_trap();
        for (const auto& entry : snapshot.state)
            for (std::size_t i = 0; i < entry.state->components.size(); ++i)
            {
                std::any value;
                (void)replication::materialize_component(registry, entry.state->components[i],
                                                         entry.state->fields_of(i), value, map);
            }
    }

    replication::ActionBatch actions;
    (void)replication::decode_actions(bytes, registry, actions);
    (void)replication::decode_baseline_request(bytes);
    return 0;
}
