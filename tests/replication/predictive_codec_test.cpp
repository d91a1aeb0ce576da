// The predictive snapshot format: snapshots chained as a client acknowledges them, so each entry carries the state
// it replaced and prediction engages; the decoded state (previous states and ticks included) must equal what the
// server records, and constant motion must cost a fraction of the bit-packed format.
#include <gtest/gtest.h>

#include "replication/codec_fixture.hpp"
#include "replication/predictive_snapshot.hpp"

namespace eustress::net::testing {
namespace {

using namespace replication;

struct Body
{
    Vec3 position;
    Vec3 velocity;
    float angle = 0;
    float spin = 0;
};

struct Chain : ::testing::Test
{
    ComponentRegistry registry;
    Chain() { register_codec_components(registry); }

    QuantizedEntityPtr quantize(const Body& body)
    {
        std::vector<std::pair<ComponentId, std::any>> components;
        const Quat rotation{std::cos(body.angle / 2), 0, std::sin(body.angle / 2), 0};
        components.emplace_back(ComponentRegistry::kTransform, NetworkTransform{body.position, rotation, 0});
        std::uint64_t failures = 0;
        return quantize_entity(registry, components, failures);
    }

    /// Encodes the bodies against `baseline` as the server does, and returns the state the server records.
    /// `models`: the coder's as coding the baseline left them (null: fresh); replaced by those this one leaves.
    SnapshotState encode(const std::vector<Body>& bodies, const SnapshotState& baseline, SnapshotHeader header,
                         SnapshotCodec codec, std::vector<std::byte>& bytes,
                         std::shared_ptr<const FieldModels>* models = nullptr)
    {
        const auto writer = make_snapshot_encoder(codec);
        writer->begin(header.tick);
        writer->start_from(models ? *models : nullptr);
        writer->add_baseline(baseline);
        SnapshotState recorded;
        for (std::size_t i = 0; i < bodies.size(); ++i)
        {
            const auto entity = static_cast<std::uint32_t>(i + 1);
            const SnapshotEntry* base = i < baseline.size() ? &baseline[i] : nullptr;
            auto state = quantize(bodies[i]);
            if (base && *base->state == *state)
            {
                recorded.push_back(*base);
                continue;
            }
            writer->add_present(entity, *state, base);
            recorded.push_back(written_entry(entity, std::move(state), header.tick, base));
        }
        bytes = writer->finish(header);
        if (models)
            *models = writer->finished_models();
        return recorded;
    }

    /// Decodes `bytes` as a client that decoded `baseline` (its state, and the models it left) would.
    DecodeError decode_against(std::span<const std::byte> bytes, const DecodedSnapshot& baseline, DecodedSnapshot& out)
    {
        return decode_snapshot(
            bytes, registry,
            [&](std::uint32_t) {
                return BaselineRef{&baseline.state, baseline.models};
            },
            out);
    }
};

void expect_same_history(const SnapshotState& decoded, const SnapshotState& expected)
{
    ASSERT_EQ(decoded.size(), expected.size());
    for (std::size_t i = 0; i < decoded.size(); ++i)
    {
        ASSERT_EQ(*decoded[i].state, *expected[i].state);
        ASSERT_EQ(decoded[i].tick, expected[i].tick);
        ASSERT_EQ(decoded[i].previous == nullptr, expected[i].previous == nullptr);
        if (expected[i].previous)
        {
            ASSERT_EQ(*decoded[i].previous, *expected[i].previous);
            ASSERT_EQ(decoded[i].previous_tick, expected[i].previous_tick);
        }
    }
}

std::vector<Body> falling_bodies(std::size_t count)
{
    std::mt19937_64 random(11);
    std::uniform_real_distribution<float> coordinate(-50, 50), speed(-3, 3);
    std::vector<Body> bodies;
    for (std::size_t i = 0; i < count; ++i)
        bodies.push_back(
            {{coordinate(random), coordinate(random), 20}, {speed(random), speed(random), 0}, 0, speed(random)});
    return bodies;
}

/// Runs a chain of snapshots, `interval` ticks apart, each against the last one; returns the bytes per codec of
/// the last `measured` snapshots. `keep_models`: each starts from the models its baseline left (as the server
/// and client do), else from fresh ones.
std::size_t run_chain(Chain& chain, SnapshotCodec codec, int snapshots, int measured, Tick interval,
                      bool keep_models = true)
{
    auto bodies = falling_bodies(200);
    SnapshotState baseline;
    std::shared_ptr<const FieldModels> encoder_models, decoder_models;
    std::size_t total = 0;
    for (int n = 1; n <= snapshots; ++n)
    {
        const Tick tick = static_cast<Tick>(n) * interval;
        const float seconds = static_cast<float>(interval) / 60.0f;
        for (Body& body : bodies)
        {
            body.position.x += body.velocity.x * seconds;
            body.position.y += body.velocity.y * seconds;
            body.position.z += body.velocity.z * seconds;
            body.angle += body.spin * seconds;
        }
        std::vector<std::byte> bytes;
        if (!keep_models)
            encoder_models = decoder_models = nullptr;
        const auto recorded =
            chain.encode(bodies, baseline, {static_cast<std::uint32_t>(n), tick, 0, n > 1 ? n - 1u : 0u}, codec, bytes,
                         &encoder_models);
        DecodedSnapshot decoded;
        const auto error = decode_snapshot(
            bytes, chain.registry,
            [&](std::uint32_t) {
                return BaselineRef{&baseline, decoder_models};
            },
            decoded);
        EXPECT_EQ(error, DecodeError::None) << "snapshot " << n;
        if (error != DecodeError::None)
            return 0;
        expect_same_history(decoded.state, recorded);
        baseline = decoded.state;
        decoder_models = decoded.models;
        if (n > snapshots - measured)
            total += bytes.size();
    }
    return total;
}

TEST_F(Chain, ConstantMotionRoundTripsAndCostsUnderTwoFifthsOfTheBitpackedFormat)
{
    const std::size_t bitpacked = run_chain(*this, SnapshotCodec::Bitpacked, 12, 8, 6);
    const std::size_t predictive = run_chain(*this, SnapshotCodec::Predictive, 12, 8, 6);
    std::printf("8 snapshots of 200 moving bodies: bitpacked %zu bytes, predictive %zu bytes\n", bitpacked, predictive);
    EXPECT_GT(predictive, 0u);
    EXPECT_LT(predictive * 5, bitpacked * 2);  // under 40%
}

TEST_F(Chain, ModelsKeptAlongTheChainCostLessThanFreshOnes)
{
    const std::size_t fresh = run_chain(*this, SnapshotCodec::Predictive, 12, 8, 6, false);
    const std::size_t kept = run_chain(*this, SnapshotCodec::Predictive, 12, 8, 6, true);
    std::printf("8 snapshots of 200 moving bodies: fresh models %zu bytes, kept models %zu bytes\n", fresh, kept);
    EXPECT_GT(kept, 0u);
    EXPECT_LT(kept, fresh);
}

TEST_F(Chain, ASnapshotDecodesWithItsBaselinesModelsWhateverWasLostSince)
{
    // Snapshots 3 and 4 are both coded against 2 (3 was lost, or not yet acknowledged when 4 was coded): 4 starts
    // from the models 2 left, not from those 3 left, and decodes on a client that never saw 3.
    auto bodies = falling_bodies(60);
    const auto move = [&] {
        for (Body& body : bodies)
            body.position.x += 0.25f;
    };
    std::vector<std::byte> bytes;
    std::shared_ptr<const FieldModels> models;
    const auto one = encode(bodies, {}, {1, 6, 0, 0}, SnapshotCodec::Predictive, bytes, &models);
    move();
    const auto two = encode(bodies, one, {2, 12, 0, 1}, SnapshotCodec::Predictive, bytes, &models);
    DecodedSnapshot decoded_two;
    ASSERT_EQ(decode_snapshot(
                  bytes, registry,
                  [&](std::uint32_t) {
                      return BaselineRef{&one, nullptr};
                  },
                  decoded_two),
              DecodeError::None);
    const auto after_two = models;
    move();
    (void)encode(bodies, two, {3, 18, 0, 2}, SnapshotCodec::Predictive, bytes, &models);
    move();
    models = after_two;
    const auto four = encode(bodies, two, {4, 24, 0, 2}, SnapshotCodec::Predictive, bytes, &models);

    DecodedSnapshot decoded;
    ASSERT_EQ(decode_against(bytes, decoded_two, decoded), DecodeError::None);
    expect_same_history(decoded.state, four);
    // The models matter: against fresh ones the same bytes are refused or decode to other values.
    DecodedSnapshot wrong;
    const auto error = decode_snapshot(
        bytes, registry,
        [&](std::uint32_t) {
            return BaselineRef{&decoded_two.state, nullptr};
        },
        wrong);
    const bool same = error == DecodeError::None && wrong.state.size() == four.size() &&
                      std::equal(wrong.state.begin(), wrong.state.end(), four.begin(),
                                 [](const SnapshotEntry& a, const SnapshotEntry& b) { return *a.state == *b.state; });
    EXPECT_FALSE(same);
}

TEST_F(Chain, CodedBitsAddUpToTheCodedStream)
{
    auto bodies = falling_bodies(80);
    std::vector<std::byte> first;
    const auto baseline = encode(bodies, {}, {1, 6, 0, 0}, SnapshotCodec::Predictive, first);
    for (Body& body : bodies)
        body.position.y += 0.3f;
    const auto writer = make_snapshot_encoder(SnapshotCodec::Predictive);
    writer->begin(12);
    writer->add_baseline(baseline);
    std::vector<QuantizedEntityPtr> states;
    for (std::size_t i = 0; i < bodies.size(); ++i)
    {
        states.push_back(quantize(bodies[i]));
        writer->add_present(static_cast<std::uint32_t>(i + 1), *states.back(), &baseline[i]);
    }
    CodedBits bits;
    writer->count_coded_bits(&bits);
    const SnapshotHeader header{2, 12, 0, 1};
    const auto bytes = writer->finish(header);
    wire::BitWriter header_only;
    header_only.write_bits(0, 8);
    write_snapshot_header(header_only, header);
    header_only.write_varint(0);  // no entity new to the baseline
    const double stream_bits = 8.0 * static_cast<double>(bytes.size() - header_only.byte_count());
    // The stream also carries the 12-bit end mark and up to 4 bytes of the coder's final interval.
    EXPECT_NEAR(bits.total() + 12, stream_bits, 32);
    EXPECT_GT(bits.listing, 0);
    EXPECT_GT(bits.residuals[1], bits.residuals[0]);  // y moved, x did not
    EXPECT_EQ(bits.whole_entities, 0);
}

TEST_F(Chain, ThePredictiveFormatIsMarkedAndItsHeaderReadsAlone)
{
    std::vector<std::byte> bytes;
    (void)encode(falling_bodies(3), {}, {7, 70, 2, 0}, SnapshotCodec::Predictive, bytes);
    EXPECT_TRUE(is_predictive_snapshot(bytes));
    SnapshotHeader header;
    ASSERT_EQ(decode_snapshot_header(bytes, header), DecodeError::None);
    EXPECT_EQ(header.sequence, 7u);
    EXPECT_EQ(header.tick, 70u);
    EXPECT_EQ(header.actions_required, 2u);
    (void)encode(falling_bodies(3), {}, {7, 70, 2, 0}, SnapshotCodec::Bitpacked, bytes);
    EXPECT_FALSE(is_predictive_snapshot(bytes));
}

TEST_F(Chain, CorruptedPredictiveSnapshotsAreRefusedOrDecodeWithinBounds)
{
    // Every single-byte corruption of a real snapshot: the decoder must return, and what it accepts must keep
    // ids ascending (the mirror relies on it). Run under ASan by `make asan`; the fuzz target goes further.
    auto bodies = falling_bodies(40);
    std::vector<std::byte> first, second;
    const auto baseline = encode(bodies, {}, {1, 6, 0, 0}, SnapshotCodec::Predictive, first);
    for (Body& body : bodies)
        body.position.x += 0.5f;
    (void)encode(bodies, baseline, {2, 12, 0, 1}, SnapshotCodec::Predictive, second);
    std::size_t refused = 0;
    for (std::size_t at = 0; at < second.size(); ++at)
        for (unsigned flip = 1; flip < 256; flip <<= 1)
        {
            auto corrupt = second;
            corrupt[at] ^= std::byte(flip);
            DecodedSnapshot decoded;
            if (decode_snapshot(
                    corrupt, registry, [&](std::uint32_t) { return &baseline; }, decoded) != DecodeError::None)
            {
                ++refused;
                continue;
            }
            for (std::size_t i = 1; i < decoded.state.size(); ++i)
                ASSERT_LT(decoded.state[i - 1].entity, decoded.state[i].entity);
        }
    EXPECT_GT(refused, second.size());  // most corruptions are caught (the end mark, bounds, layouts)
}

TEST_F(Chain, EntriesAddedByPriorityWithOneDroppedCodeAsTheKeptOnesAddedInIdOrder)
{
    // The server adds entries by priority, estimating each one's size against the models the snapshot starts from
    // (its baseline's), and drops the one the budget cannot take; the snapshot must be the kept entries coded in
    // id order from those models, whatever the order, the estimates and the drop (the encoder replays each entry's
    // recorded decisions into them), and decode on a client that holds the baseline's models.
    // The baseline is the second snapshot of a chain, so the models it left have learnt residuals.
    auto bodies = falling_bodies(6);
    const auto move = [&] {
        for (Body& body : bodies)
        {
            body.position.x += 0.25f;
            body.angle += 0.1f;
        }
    };
    std::vector<std::byte> bytes;
    std::shared_ptr<const FieldModels> models;
    const auto first = encode(bodies, {}, {1, 6, 0, 0}, SnapshotCodec::Predictive, bytes, &models);
    DecodedSnapshot decoded_first;
    ASSERT_EQ(decode_against(bytes, {}, decoded_first), DecodeError::None);
    move();
    const auto baseline = encode(bodies, first, {2, 12, 0, 1}, SnapshotCodec::Predictive, bytes, &models);
    DecodedSnapshot decoded_baseline;
    ASSERT_EQ(decode_against(bytes, decoded_first, decoded_baseline), DecodeError::None);
    move();
    std::vector<QuantizedEntityPtr> states;
    for (const Body& body : bodies)
        states.push_back(quantize(body));
    const SnapshotHeader header{3, 18, 0, 2};
    const auto by_priority = make_snapshot_encoder(SnapshotCodec::Predictive);
    by_priority->begin(header.tick);
    by_priority->start_from(models);
    by_priority->add_baseline(baseline);
    for (const std::size_t i : {4u, 1u, 5u, 2u})
        by_priority->add_present(static_cast<std::uint32_t>(i + 1), *states[i], &baseline[i]);
    by_priority->add_removed(4);
    by_priority->add_present(1, *states[0], static_cast<const SnapshotEntry*>(nullptr));
    by_priority->drop_last();
    by_priority->add_present(1, *states[0], &baseline[0]);
    by_priority->add_present(6, *states[5], static_cast<const SnapshotEntry*>(nullptr));
    by_priority->drop_last();

    const auto by_id = make_snapshot_encoder(SnapshotCodec::Predictive);
    by_id->begin(header.tick);
    by_id->start_from(models);
    by_id->add_baseline(baseline);
    for (const std::size_t i : {0u, 1u, 2u})
        by_id->add_present(static_cast<std::uint32_t>(i + 1), *states[i], &baseline[i]);
    by_id->add_removed(4);
    for (const std::size_t i : {4u, 5u})
        by_id->add_present(static_cast<std::uint32_t>(i + 1), *states[i], &baseline[i]);
    const auto written = by_priority->finish(header);
    ASSERT_EQ(written, by_id->finish(header));

    DecodedSnapshot decoded;
    ASSERT_EQ(decode_against(written, decoded_baseline, decoded), DecodeError::None);
    ASSERT_EQ(decoded.state.size(), 5u);  // entity 4 removed
    for (std::size_t at = 0; const std::size_t i : {0u, 1u, 2u, 4u, 5u})
    {
        EXPECT_EQ(decoded.state[at].entity, i + 1);
        EXPECT_EQ(*decoded.state[at++].state, *states[i]);
    }
}

TEST_F(Chain, AnEntryAddedAgainstABaselineTheWriterWasNotGivenIsCodedInFull)
{
    // Its recorded decisions are a delta against that entry, but without add_baseline the format holds it new to
    // the baseline, coded in full: the writer must code it again rather than replay the delta.
    const auto bodies = falling_bodies(4);
    std::vector<std::byte> bytes;
    const auto baseline = encode(bodies, {}, {1, 6, 0, 0}, SnapshotCodec::Predictive, bytes);
    const auto writer = make_snapshot_encoder(SnapshotCodec::Predictive);
    writer->begin(12);
    std::vector<QuantizedEntityPtr> states;
    for (std::size_t i = 0; i < bodies.size(); ++i)
    {
        Body moved = bodies[i];
        moved.position.y += 0.5f;
        states.push_back(quantize(moved));
        writer->add_present(static_cast<std::uint32_t>(i + 1), *states.back(), &baseline[i]);
    }
    const auto written = writer->finish({2, 12, 0, 0});
    DecodedSnapshot decoded;
    ASSERT_EQ(decode_against(written, {}, decoded), DecodeError::None);
    ASSERT_EQ(decoded.state.size(), states.size());
    for (std::size_t i = 0; i < states.size(); ++i)
        EXPECT_EQ(*decoded.state[i].state, *states[i]);
}

TEST_F(Chain, ABaselineNamedAtOnceCodesAsTheSameBaselineNamedEntryByEntry)
{
    // The server names its record to the writer in one call (add_baselines), which `finish` reads where the server
    // keeps it: the listing contexts (each entry's age against the newest, whether it was moving) and so the bytes
    // and models must be those of naming each entry. The baseline mixes ages: a chain's second snapshot in which
    // only some entities were written again.
    auto bodies = falling_bodies(6);
    std::vector<std::byte> bytes;
    std::shared_ptr<const FieldModels> models;
    const auto first = encode(bodies, {}, {1, 6, 0, 0}, SnapshotCodec::Predictive, bytes, &models);
    for (std::size_t i = 0; i < bodies.size(); i += 2)
        bodies[i].position.x += 0.25f;
    const auto baseline = encode(bodies, first, {2, 12, 0, 1}, SnapshotCodec::Predictive, bytes, &models);
    std::vector<BaselineEntry> record;
    for (const SnapshotEntry& entry : baseline)
        record.push_back({entry.entity, history_of(entry)});
    for (Body& body : bodies)
        body.position.y -= 0.5f;
    std::vector<QuantizedEntityPtr> states;
    for (const Body& body : bodies)
        states.push_back(quantize(body));

    const SnapshotHeader header{3, 18, 0, 2};
    const auto code = [&](bool at_once) {
        const auto writer = make_snapshot_encoder(SnapshotCodec::Predictive);
        writer->begin(header.tick);
        writer->start_from(models);
        if (at_once)
            writer->add_baselines(record);
        else
            for (const BaselineEntry& entry : record)
                writer->add_baseline(entry.entity, entry.history);
        for (const std::size_t i : {3u, 0u, 5u})
            writer->add_present(static_cast<std::uint32_t>(i + 1), *states[i], &record[i].history);
        writer->add_removed(2);
        return writer->finish(header);
    };
    const auto entry_by_entry = code(false);
    const auto at_once = code(true);
    EXPECT_EQ(at_once, entry_by_entry);
    DecodedSnapshot decoded_baseline;
    decoded_baseline.state = baseline;
    decoded_baseline.models = models;
    DecodedSnapshot decoded;
    ASSERT_EQ(decode_against(at_once, decoded_baseline, decoded), DecodeError::None);
    EXPECT_EQ(decoded.state.size(), 5u);  // entity 2 removed
}

TEST(ListingContext, BucketsAnEntrysAgeAsDocumented)
{
    // (age, bucket): 0, under 8, under 16, under 32, under 128, older (a tick after the newest counts as older).
    const std::vector<std::pair<Tick, std::size_t>> ages{{0, 0},   {1, 1},   {7, 1},    {8, 2},
                                                         {15, 2},  {16, 3},  {31, 3},   {32, 4},
                                                         {127, 4}, {128, 5}, {5000, 5}, {0xFFFFFFFFu, 5}};
    const Tick newest = 1000;
    for (const auto& [age, bucket] : ages)
    {
        EXPECT_EQ(listing_context(newest - age, false, newest), bucket) << "age " << age;
        EXPECT_EQ(listing_context(newest - age, true, newest), bucket + FieldModels::kListingAges) << "age " << age;
    }
}

}  // namespace
}  // namespace eustress::net::testing
