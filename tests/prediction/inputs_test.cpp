// Inputs: a game-defined struct, several per packet so a lost packet costs nothing, a server buffer that uses
// each on its tick, and hostile packets (far future, far past, too many, truncated, ticks across the wrap).
#include <gtest/gtest.h>

#include "eustress/net/prediction.hpp"

namespace eustress::net {
namespace {

struct Move
{
    std::int32_t dx = 0;
    std::int32_t dy = 0;
    bool fire = false;
    float aim = 0.0f;

    friend bool operator==(const Move&, const Move&) = default;
};

InputCodec<Move> move_codec()
{
    return InputCodec<Move>([](auto& stream, Move& move) {
        return stream.integer(move.dx, -1, 1) && stream.integer(move.dy, -1, 1) && stream.boolean(move.fire) &&
               stream.bounded_float(move.aim, FloatRange{-180.0f, 180.0f, 0.5f});
    });
}

/// A player's inputs: held directions for a while, occasional shots, a slowly turning aim.
Move input_at(Tick tick)
{
    Move move;
    move.dx = static_cast<std::int32_t>((tick / 20) % 3) - 1;
    move.dy = static_cast<std::int32_t>((tick / 35) % 3) - 1;
    move.fire = tick % 17 == 0;
    move.aim = static_cast<float>((tick / 10) % 360) - 180.0f;
    return move;
}

constexpr ClientId kPlayer{1};

TEST(Inputs, RepeatedInputsCostABitEachAndEverythingRoundTrips)
{
    InputSender<Move> sender(move_codec());
    InputBuffer<Move> buffer(move_codec());
    std::vector<std::byte> packet;
    for (Tick tick = 100; tick < 108; ++tick)
        packet = sender.push(tick, Move{1, 0, false, 90.0f});
    // newest tick (2 bytes), count (1), one full input (2 + 2 + 1 + 10 bits), then 7 "same" bits.
    EXPECT_LE(packet.size(), 7u);
    ASSERT_TRUE(buffer.receive(kPlayer, packet, 100));
    for (Tick tick = 100; tick < 108; ++tick)
        EXPECT_EQ(buffer.take(kPlayer, tick), (Move{1, 0, false, 90.0f})) << tick;
    EXPECT_EQ(buffer.stats(kPlayer).inputs_used, 8u);
}

/// Client ticks 1000..1599; packets in `lost` never arrive; each one that does reaches the server two ticks before
/// its newest input is due. Returns the server's stats, and whether every tick got exactly the client's input.
std::pair<InputStats, bool> play_through_loss(std::size_t redundancy, const std::function<bool(Tick)>& lost)
{
    InputConfig config;
    config.redundancy = redundancy;
    InputSender<Move> sender(move_codec(), config);
    InputBuffer<Move> buffer(move_codec(), config);
    std::map<Tick, std::vector<std::byte>> arriving_at;  // server tick -> packet
    bool exact = true;
    for (Tick tick = 1000; tick < 1600; ++tick)
    {
        auto packet = sender.push(tick, input_at(tick));
        if (!lost(tick))
            arriving_at[tick - 2] = std::move(packet);
        // The server simulates tick - 4 now (it runs behind the client by the lead).
        const Tick server_tick = tick - 4;
        if (auto found = arriving_at.find(server_tick); found != arriving_at.end())
            buffer.receive(kPlayer, found->second, server_tick);
        if (server_tick >= 1000)
            exact &= buffer.take(kPlayer, server_tick) == input_at(server_tick);
    }
    return {buffer.stats(kPlayer), exact};
}

TEST(Inputs, ALostPacketChangesNothingOnTheServerThanksToRedundancy)
{
    // Every third packet lost, and two in a row once: each input still reaches the server in a later packet before
    // its tick (the packets arrive two ticks early: redundancy covers as many consecutive losses as the inputs'
    // margin, which is why TickSync keeps one).
    auto lost = [](Tick tick) {
        return tick % 3 == 0 || tick == 1301;
    };
    const auto [with_redundancy, exact] = play_through_loss(8, lost);
    EXPECT_TRUE(exact);
    EXPECT_EQ(with_redundancy.inputs_repeated, 0u);
    EXPECT_GT(with_redundancy.duplicates, 0u);

    // The same losses with one input per packet: the server has to guess.
    const auto [without, exact_without] = play_through_loss(1, lost);
    EXPECT_FALSE(exact_without);
    EXPECT_GT(without.inputs_repeated, 150u);  // about one tick in three
}

TEST(Inputs, InputsFromTheFarFutureOrThePastAreCountedAndNeverUsed)
{
    MetricsRegistry registry;
    InputMetrics metrics(registry);
    InputSender<Move> sender(move_codec());
    InputBuffer<Move> buffer(move_codec());
    buffer.attach_metrics(&metrics);
    ASSERT_TRUE(buffer.receive(kPlayer, sender.push(5000, input_at(5000)), 100));  // 4,900 ticks ahead
    EXPECT_EQ(buffer.stats(kPlayer).inputs_too_far_ahead, 1u);
    EXPECT_FALSE(buffer.take(kPlayer, 100));  // nothing usable, nothing to repeat

    InputSender<Move> fresh(move_codec());
    ASSERT_TRUE(buffer.receive(kPlayer, fresh.push(101, input_at(101)), 101));
    EXPECT_EQ(buffer.take(kPlayer, 101), input_at(101));
    ASSERT_TRUE(buffer.receive(kPlayer, fresh.push(102, input_at(102)), 110));  // tick 102 already simulated
    EXPECT_EQ(buffer.stats(kPlayer).inputs_late, 1u);  // 102; its copy of 101 is a duplicate of what was used
    EXPECT_EQ(buffer.stats(kPlayer).duplicates, 1u);
    EXPECT_EQ(buffer.take(kPlayer, 110), input_at(101));  // the last one, repeated
    EXPECT_EQ(buffer.stats(kPlayer).inputs_repeated, 1u);

    // The registry counts the same outcomes, for every client together.
    EXPECT_EQ(metrics.too_far_ahead->value(), 1u);
    EXPECT_EQ(metrics.used->value(), 1u);
    EXPECT_EQ(metrics.late->value(), 1u);
    EXPECT_EQ(metrics.duplicates->value(), 1u);
    EXPECT_EQ(metrics.repeated->value(), 1u);
    EXPECT_NE(registry.prometheus_text().find("eustress_inputs_total{outcome=\"late\"} 1\n"), std::string::npos);
}

TEST(Inputs, MalformedPacketsAreRefusedWholeAndCounted)
{
    InputConfig config;
    config.redundancy = 4;
    InputSender<Move> big_window(move_codec(), InputConfig{16});
    std::vector<std::byte> packet;
    for (Tick tick = 1; tick <= 10; ++tick)
        packet = big_window.push(tick, input_at(tick));
    InputBuffer<Move> buffer(move_codec(), config);
    EXPECT_FALSE(buffer.receive(kPlayer, packet, 1));  // ten inputs where four are allowed

    InputSender<Move> sender(move_codec(), config);
    for (Tick tick = 1; tick <= 4; ++tick)
        packet = sender.push(tick, Move{static_cast<std::int32_t>(tick % 3) - 1, 1, tick % 2 == 0, 10.0f * tick});
    for (std::size_t length = 0; length < packet.size(); ++length)
        EXPECT_FALSE(buffer.receive(kPlayer, std::span(packet).first(length), 1)) << length;
    auto trailing = packet;
    trailing.push_back(std::byte{0xff});
    EXPECT_FALSE(buffer.receive(kPlayer, trailing, 1));
    std::vector<std::byte> out_of_range = {std::byte{1}, std::byte{1}, std::byte{0xff}, std::byte{0xff}};
    EXPECT_FALSE(buffer.receive(kPlayer, out_of_range, 1));  // dx = 3 is outside [-1, 1]
    EXPECT_EQ(buffer.stats(kPlayer).malformed_packets, 1u + packet.size() + 2u);
    EXPECT_FALSE(buffer.take(kPlayer, 1));
    EXPECT_TRUE(buffer.receive(kPlayer, packet, 1));  // the intact packet still works
}

TEST(Inputs, TicksKeepTheirOrderAcrossTheWrap)
{
    InputSender<Move> sender(move_codec());
    InputBuffer<Move> buffer(move_codec());
    const Tick start = 0xFFFFFFFDu;
    for (Tick i = 0; i < 6; ++i)
    {
        const Tick tick = start + i;  // ..., 0xFFFFFFFF, 0, 1, 2
        ASSERT_TRUE(buffer.receive(kPlayer, sender.push(tick, input_at(i)), tick));
        EXPECT_EQ(buffer.take(kPlayer, tick), input_at(i)) << tick;
    }
    EXPECT_EQ(buffer.stats(kPlayer).inputs_used, 6u);
    EXPECT_EQ(buffer.stats(kPlayer).inputs_late, 0u);
}

}  // namespace
}  // namespace eustress::net
