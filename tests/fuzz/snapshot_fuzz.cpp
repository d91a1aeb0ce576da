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

    // The predictive coder's models as a snapshot against the baseline starts from when they were kept from the
    // baseline's own decoding: those after coding the baseline against the states it replaced.
    static const std::shared_ptr<const replication::FieldModels> adapted = [] {
        replication::SnapshotState replaced;
        for (const auto& entry : baseline)
            replaced.push_back({entry.entity, entry.previous, entry.previous_tick});
        const auto writer = replication::make_snapshot_encoder(SnapshotCodec::Predictive);
        writer->begin(100);
        writer->add_baseline(replaced);
        for (std::size_t i = 0; i < baseline.size(); ++i)
            writer->add_present(baseline[i].entity, *baseline[i].state, &replaced[i]);
        (void)writer->finish({1, 100, 0, 0});
        return writer->finished_models();
    }();

    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    const std::function<EntityId(std::uint64_t)> map = [](std::uint64_t id) {
        return EntityId{static_cast<std::uint32_t>(id)};
    };

    replication::DecodedSnapshot snapshot;
    // Odd baseline sequences name the baseline: 1 mod 4 with fresh models, 3 mod 4 with adapted ones.
    const auto lookup = [](std::uint32_t sequence) {
        if (sequence % 2 == 0)
            return replication::BaselineRef{};
        return replication::BaselineRef{&baseline, sequence % 4 == 3 ? adapted : nullptr};
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
