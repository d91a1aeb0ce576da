// Server-side validation: every client message passes the game's validator for its channel before the game sees
// it. A refused one is dropped, counted per client, never delivered; a client may only act for what it owns.
#include <cstring>

#include <gtest/gtest.h>

#include "eustress/net/world.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

/// The game's move order: "move entity E to x", as a client would send it.
struct MoveOrder
{
    std::uint32_t entity = 0;
    float x = 0;
};

std::vector<std::byte> encode(MoveOrder order)
{
    std::vector<std::byte> bytes(sizeof order);
    std::memcpy(bytes.data(), &order, sizeof order);
    return bytes;
}

TEST(Validation, OnlyOwnedInBoundsOrdersReachTheGameAndRefusalsAreCountedPerClient)
{
    SessionWorld world;
    Client& alice = world.add_client("10.0.0.2:5000");
    Client& bob = world.add_client("10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return alice.is_connected() && bob.is_connected(); }));

    ComponentRegistry registry;
    World game(registry);
    const EntityId alices_ship = game.spawn({alice.id(), {}});
    const EntityId bobs_ship = game.spawn({bob.id(), {}});
    const EntityId asteroid = game.spawn();  // the server's own

    world.server->set_validator(0, [&](ClientId from, ChannelId, Bytes message) -> Rejection {
        if (message.size() != sizeof(MoveOrder))
            return "malformed order";
        MoveOrder order;
        std::memcpy(&order, message.data(), sizeof order);
        if (!game.is_owned_by(EntityId{order.entity}, from))
            return "not your entity";
        if (!(order.x >= -100.0f && order.x <= 100.0f))
            return "out of bounds";
        return std::nullopt;
    });

    const auto id = [](EntityId entity) {
        return static_cast<std::uint32_t>(entity);
    };
    ASSERT_TRUE(alice.send(0, encode({id(alices_ship), 5}), world.now).ok());     // fine
    ASSERT_TRUE(alice.send(0, encode({id(bobs_ship), 5}), world.now).ok());       // someone else's
    ASSERT_TRUE(alice.send(0, encode({id(asteroid), 5}), world.now).ok());        // the server's
    ASSERT_TRUE(alice.send(0, encode({id(alices_ship), 1e9f}), world.now).ok());  // teleport
    ASSERT_TRUE(alice.send(0, bytes_of("?"), world.now).ok());                    // garbage
    ASSERT_TRUE(bob.send(0, encode({id(bobs_ship), -7}), world.now).ok());        // fine
    ASSERT_TRUE(alice.send(1, bytes_of("chat has no validator"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "chat has no validator"); }));
    world.run_until([] { return false; }, std::chrono::milliseconds(100));

    std::vector<MoveOrder> delivered;
    for (const auto& message : world.server_events_of<MessageEvent>())
        if (message.channel == 0)
        {
            ASSERT_EQ(message.data.size(), sizeof(MoveOrder));
            MoveOrder order;
            std::memcpy(&order, message.data.data(), sizeof order);
            delivered.push_back(order);
        }
    ASSERT_EQ(delivered.size(), 2u);
    EXPECT_EQ(delivered[0].entity + delivered[1].entity, id(alices_ship) + id(bobs_ship));

    const auto alice_status = world.server->status(alice.id(), world.now);
    const auto bob_status = world.server->status(bob.id(), world.now);
    EXPECT_EQ(alice_status->messages_rejected, 4u);
    EXPECT_EQ(alice_status->last_rejection, "malformed order");
    EXPECT_EQ(bob_status->messages_rejected, 0u);
    EXPECT_EQ(world.server->stats().messages_rejected, 4u);
    EXPECT_TRUE(alice.is_connected());  // refusing is not disconnecting: the game decides what to do with a cheater
}

TEST(Validation, RemovingAValidatorDeliversEverythingAgain)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    world.server->set_validator(0, [](ClientId, ChannelId, Bytes) -> Rejection { return "closed"; });
    ASSERT_TRUE(client.send(0, bytes_of("first"), world.now).ok());
    world.run_until([] { return false; }, std::chrono::milliseconds(100));
    world.server->set_validator(0, {});
    ASSERT_TRUE(client.send(0, bytes_of("second"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "second"); }));
    EXPECT_FALSE(has_message(world.server_events, "first"));
}

}  // namespace
}  // namespace eustress::net::testing
