// The snapshot and entity-action codecs alone: random round trips against random baselines, and every kind of bad
// input the issue names, each refused with its own error.
#include <gtest/gtest.h>

#include "replication/codec_fixture.hpp"

namespace eustress::net::testing {
namespace {

using namespace replication;

struct Codec : ::testing::Test
{
    ComponentRegistry registry;
    Codec() { register_codec_components(registry); }

    /// Encodes `current` against `baseline` as the server does (changed entities only, removed ones marked).
    std::vector<std::byte> encode(const SnapshotState& current, const SnapshotState* baseline, SnapshotHeader header,
                                  SnapshotCodec codec = SnapshotCodec::Bitpacked)
    {
        const auto writer = make_snapshot_encoder(codec);
        writer->begin(header.tick);
        const SnapshotState empty;
        const SnapshotState& base = baseline ? *baseline : empty;
        writer->add_baseline(base);
        for (const auto& entry : base)
            if (std::none_of(current.begin(), current.end(), [&](const auto& c) { return c.entity == entry.entity; }))
                writer->add_removed(entry.entity);
        for (const auto& entry : current)
        {
            const auto previous =
                std::find_if(base.begin(), base.end(), [&](const auto& b) { return b.entity == entry.entity; });
            const SnapshotEntry* previous_entry = previous == base.end() ? nullptr : &*previous;
            if (previous_entry && *previous_entry->state == *entry.state)
                continue;
            writer->add_present(entry.entity, *entry.state, previous_entry);
        }
        return writer->finish(header);
    }

    DecodeError decode(const std::vector<std::byte>& bytes, const SnapshotState* baseline, DecodedSnapshot& out)
    {
        return decode_snapshot(
            bytes, registry, [baseline](std::uint32_t) { return baseline; }, out);
    }
};

SnapshotState mutate(const ComponentRegistry& registry, const SnapshotState& state, std::mt19937_64& random)
{
    SnapshotState next;
    std::uint64_t failures = 0;
    for (const auto& entry : state)
    {
        const auto roll = random() % 10;
        if (roll == 0)
            continue;  // gone
        if (roll < 4)
        {
            // Move it: a small change of every position field.
            std::vector<std::pair<ComponentId, std::any>> components;
            components.emplace_back(ComponentRegistry::kTransform,
                                    NetworkTransform{{float(random() % 100) * 0.37f, 1.0f, -2.0f}, Quat{}});
            next.push_back({entry.entity, quantize_entity(registry, components, failures)});
            continue;
        }
        next.push_back(entry);  // unchanged: shared, as on the server
    }
    auto newcomers = random_state(registry, random, 5, 5000 + static_cast<std::uint32_t>(random() % 1000));
    next.insert(next.end(), newcomers.begin(), newcomers.end());
    std::sort(next.begin(), next.end(), [](const auto& a, const auto& b) { return a.entity < b.entity; });
    next.erase(std::unique(next.begin(), next.end(), [](const auto& a, const auto& b) { return a.entity == b.entity; }),
               next.end());
    return next;
}

void expect_same_state(const SnapshotState& decoded, const SnapshotState& expected)
{
    ASSERT_EQ(decoded.size(), expected.size());
    for (std::size_t i = 0; i < decoded.size(); ++i)
    {
        ASSERT_EQ(decoded[i].entity, expected[i].entity);
        ASSERT_EQ(*decoded[i].state, *expected[i].state) << "entity " << decoded[i].entity;
    }
}

/// The tests both formats must pass.
struct EitherCodec : Codec, ::testing::WithParamInterface<SnapshotCodec>
{};

INSTANTIATE_TEST_SUITE_P(Formats, EitherCodec, ::testing::Values(SnapshotCodec::Bitpacked, SnapshotCodec::Predictive),
                         [](const auto& info) {
                             return std::string(info.param == SnapshotCodec::Predictive ? "Predictive" : "Bitpacked");
                         });

TEST_P(EitherCodec, RandomSnapshotsRoundTripAgainstRandomBaselines)
{
    std::mt19937_64 random(5);
    std::size_t delta_bytes = 0, full_bytes = 0;
    for (int round = 0; round < 300; ++round)
    {
        const SnapshotState baseline = random_state(registry, random, 1 + random() % 80);
        const SnapshotState current = mutate(registry, baseline, random);
        const SnapshotHeader header{10, 1234, 7, 4};
        const auto bytes = encode(current, &baseline, header, GetParam());
        DecodedSnapshot decoded;
        ASSERT_EQ(decode(bytes, &baseline, decoded), DecodeError::None);
        EXPECT_EQ(decoded.header.sequence, 10u);
        EXPECT_EQ(decoded.header.tick, 1234u);
        EXPECT_EQ(decoded.header.actions_required, 7u);
        EXPECT_EQ(decoded.header.baseline, 4u);
        expect_same_state(decoded.state, current);

        const auto full = encode(current, nullptr, {11, 1235, 7, 0}, GetParam());
        ASSERT_EQ(decode(full, nullptr, decoded), DecodeError::None);
        expect_same_state(decoded.state, current);
        // A moved entity's delta can take a few bits more than its full form (the changed flags and each field's
        // size prefix), and only the delta codes removals and "same components" flags, where a 0 costs about 5
        // bits at first (the models start expecting 1: FieldModels::kRarelyZero), so a small snapshot of mostly
        // moved entities may come out two bytes larger.
        EXPECT_LE(bytes.size(), full.size() + 2);
        delta_bytes += bytes.size();
        full_bytes += full.size();
    }
    EXPECT_LT(delta_bytes, full_bytes * 3 / 4);
    std::printf("delta %zu bytes, full %zu bytes over 300 rounds\n", delta_bytes, full_bytes);
}

TEST_P(EitherCodec, AnUnchangedWorldCostsOnlyTheHeader)
{
    std::mt19937_64 random(9);
    const SnapshotState baseline = random_state(registry, random, 900);
    const auto bytes = encode(baseline, &baseline, {100, 5000, 1, 99}, GetParam());
    EXPECT_LE(bytes.size(), 8u);
}

TEST_F(Codec, APredictiveSnapshotThatListsAnEntityAsNewWhileTheBaselineHoldsItIsRefused)
{
    // The predictive format lists the baseline's entities as bits and codes only others by id: an id among the
    // new ones that the baseline holds would put the entity in the state twice. A writer that was not told the
    // baseline holds entity 5 writes just that.
    std::mt19937_64 random(12);
    const SnapshotState baseline = random_state(registry, random, 10);
    const auto writer = make_snapshot_encoder(SnapshotCodec::Predictive);
    writer->begin(50);
    for (const SnapshotEntry& entry : baseline)
        if (entry.entity != baseline[4].entity)
            writer->add_baseline(entry.entity, history_of(entry));
    writer->add_present(baseline[4].entity, *baseline[9].state, static_cast<const EntityHistory*>(nullptr));
    const auto bytes = writer->finish({4, 50, 0, 3});
    DecodedSnapshot decoded;
    EXPECT_EQ(decode(bytes, &baseline, decoded), DecodeError::EntityOutOfRange);
}

TEST_P(EitherCodec, EveryTruncationIsRefusedCleanly)
{
    std::mt19937_64 random(6);
    const SnapshotState baseline = random_state(registry, random, 40);
    const SnapshotState current = mutate(registry, baseline, random);
    const auto bytes = encode(current, &baseline, {3, 30, 0, 2}, GetParam());
    for (std::size_t length = 0; length + 1 < bytes.size(); ++length)
    {
        const std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
        DecodedSnapshot decoded;
        EXPECT_NE(decode(prefix, &baseline, decoded), DecodeError::None) << length;
    }
}

TEST_P(EitherCodec, ABaselineTheClientNeverHadIsReported)
{
    std::mt19937_64 random(7);
    const SnapshotState baseline = random_state(registry, random, 10);
    const auto bytes = encode(mutate(registry, baseline, random), &baseline, {9, 90, 0, 8}, GetParam());
    DecodedSnapshot decoded;
    EXPECT_EQ(decode(bytes, nullptr, decoded), DecodeError::MissingBaseline);
    EXPECT_EQ(decoded.header.baseline, 8u);
}

TEST_F(Codec, UnknownComponentsAndEntitiesOutOfRangeAreRefused)
{
    // A snapshot naming component 5 (the registry has 2).
    wire::BitWriter unknown;
    for (std::uint64_t value : {1u, 1u, 0u, 0u, 1u})  // sequence, tick, actions, no baseline, one entry
        unknown.write_varint(value);
    write_entity_gap(unknown, 1);
    unknown.write_bool(true);
    unknown.write_varint(1);  // one component
    unknown.write_varint(5);  // id 5
    DecodedSnapshot decoded;
    EXPECT_EQ(decode(unknown.bytes(), nullptr, decoded), DecodeError::UnknownComponent);

    // Two entries whose ids add up past 2^32 - 1.
    wire::BitWriter overflow;
    for (std::uint64_t value : {1u, 1u, 0u, 0u, 2u})
        overflow.write_varint(value);
    write_entity_gap(overflow, 0xffffffffull);
    overflow.write_bool(false);
    write_entity_gap(overflow, 5);
    overflow.write_bool(false);
    EXPECT_EQ(decode(overflow.bytes(), nullptr, decoded), DecodeError::EntityOutOfRange);

    // A gap so large that adding it wraps the 64-bit running id back to a small one (5 + (2^64 - 1) = 4): before
    // the check moved ahead of the addition, this decoded as entity 4 after entity 5.
    wire::BitWriter wrapping;
    for (std::uint64_t value : {1u, 1u, 0u, 0u, 2u})
        wrapping.write_varint(value);
    write_entity_gap(wrapping, 5);
    wrapping.write_bool(false);
    write_entity_gap(wrapping, ~std::uint64_t{0});
    wrapping.write_bool(false);
    EXPECT_EQ(decode(wrapping.bytes(), nullptr, decoded), DecodeError::EntityOutOfRange);
    // And one that lands exactly on 0 again (2^64 - 5), which a check for a zero gap alone would not see.
    wire::BitWriter wrapping_to_zero;
    for (std::uint64_t value : {1u, 1u, 0u, 0u, 2u})
        wrapping_to_zero.write_varint(value);
    write_entity_gap(wrapping_to_zero, 5);
    wrapping_to_zero.write_bool(false);
    write_entity_gap(wrapping_to_zero, ~std::uint64_t{0} - 4);
    wrapping_to_zero.write_bool(false);
    EXPECT_EQ(decode(wrapping_to_zero.bytes(), nullptr, decoded), DecodeError::EntityOutOfRange);

    // A count no payload could hold.
    wire::BitWriter hostile_count;
    for (std::uint64_t value : {1ull, 1ull, 0ull, 0ull, 1ull << 40})
        hostile_count.write_varint(value);
    EXPECT_EQ(decode(hostile_count.bytes(), nullptr, decoded), DecodeError::TooManyEntries);

    // A baseline distance reaching before sequence 1.
    wire::BitWriter bad_header;
    for (std::uint64_t value : {3u, 1u, 0u, 3u, 0u})
        bad_header.write_varint(value);
    EXPECT_EQ(decode(bad_header.bytes(), nullptr, decoded), DecodeError::BadHeader);
}

TEST_F(Codec, AComponentThatReadsPastItsFieldsIsRefused)
{
    // The client registered a longer layout for the same name: its serialize reads past what the server wrote.
    ComponentRegistry greedy;
    greedy.add<Armor>("test.armor", [](auto& stream, Armor& armor) {
        std::uint32_t extra = 0;
        return stream.integer(armor.level, -5, 60) && stream.bounded_float(armor.durability, {0, 1, 0.01f}) &&
               stream.entity(armor.owner) && stream.boolean(armor.broken) && stream.bits(extra, 32) &&
               stream.bits(extra, 32) && stream.bits(extra, 32);
    });
    std::mt19937_64 random(8);
    SnapshotState state;
    std::uint64_t failures = 0;
    std::vector<std::pair<ComponentId, std::any>> components{{ComponentId{1}, Armor{3, 0.5f, kNoEntity, false}}};
    state.push_back({1, quantize_entity(registry, components, failures)});
    const auto bytes = encode(state, nullptr, {1, 1, 0, 0});
    DecodedSnapshot decoded;
    const auto error = decode_snapshot(
        bytes, greedy, [](std::uint32_t) { return nullptr; }, decoded);
    EXPECT_TRUE(error == DecodeError::Truncated || error == DecodeError::ComponentMalformed) << to_string(error);

    // And values out of the declared range are refused on read, not clamped.
    wire::BitWriter out_of_range;
    for (std::uint64_t value : {1u, 1u, 0u, 0u, 1u})
        out_of_range.write_varint(value);
    write_entity_gap(out_of_range, 1);
    out_of_range.write_bool(true);
    out_of_range.write_varint(1);
    out_of_range.write_varint(1);     // armor
    out_of_range.write_bits(127, 7);  // level: 7 bits for 66 values, 127 is past 65
    EXPECT_EQ(decode(out_of_range.bytes(), nullptr, decoded), DecodeError::ComponentMalformed);
}

TEST_F(Codec, EntityActionsRoundTripAndRefuseBadInput)
{
    std::mt19937_64 random(10);
    const SnapshotState entities = random_state(registry, random, 6);
    ActionBatch batch;
    batch.registry_fingerprint = registry.fingerprint();
    batch.tick = 77;
    batch.actions.push_back({ActionKind::Spawn, entities[0].entity, true, 0, entities[0].state});
    batch.actions.push_back({ActionKind::Despawn, 9, false, 0, nullptr});
    std::uint64_t failures = 0;
    std::vector<std::pair<ComponentId, std::any>> armor{{ComponentId{1}, Armor{7, 0.25f, EntityId{3}, true}}};
    batch.actions.push_back({ActionKind::Insert, 4, false, 1, quantize_entity(registry, armor, failures)});
    batch.actions.push_back({ActionKind::Remove, 4, false, 0, nullptr});
    const auto bytes = encode_actions(batch);

    ActionBatch decoded;
    ASSERT_EQ(decode_actions(bytes, registry, decoded), DecodeError::None);
    EXPECT_EQ(decoded.registry_fingerprint, registry.fingerprint());
    EXPECT_EQ(decoded.tick, 77u);
    ASSERT_EQ(decoded.actions.size(), 4u);
    EXPECT_TRUE(decoded.actions[0].owned);
    EXPECT_EQ(*decoded.actions[0].state, *entities[0].state);
    EXPECT_EQ(decoded.actions[1].entity, 9u);
    EXPECT_EQ(*decoded.actions[2].state, *batch.actions[2].state);
    EXPECT_EQ(decoded.actions[3].component, 0);

    for (std::size_t length = 0; length + 1 < bytes.size(); ++length)
    {
        const std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
        EXPECT_NE(decode_actions(prefix, registry, decoded), DecodeError::None) << length;
    }

    EXPECT_EQ(decode_baseline_request(encode_baseline_request(42)), 42u);
    EXPECT_EQ(decode_baseline_request({}), std::nullopt);
    const std::vector<std::byte> wrong_kind{std::byte{9}, std::byte{1}};
    EXPECT_EQ(decode_baseline_request(wrong_kind), std::nullopt);
}

}  // namespace
}  // namespace eustress::net::testing
