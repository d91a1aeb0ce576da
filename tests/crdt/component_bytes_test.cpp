// Components travel through the document as their ComponentRegistry codec encodes them.
#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

struct Health
{
    std::int32_t points = 100;
};

ComponentRegistry registry_with_health()
{
    ComponentRegistry registry;
    registry.add<Health>("health", [](auto& stream, Health& health) { return stream.integer(health.points, 0, 200); });
    return registry;
}

}  // namespace

TEST(CrdtComponents, ATransformWrittenOnOneReplicaReadsBackOnAnotherWithinTheQuantization)
{
    const ComponentRegistry registry = registry_with_health();
    auto replicas = make_replicas(2);
    Delta delta;
    const auto ship = *replicas[0].spawn(kStart, delta);
    ASSERT_TRUE(
        set_component(replicas[0], registry, ship, NetworkTransform{{1.25f, -3.5f, 100.0f}, {}, 0}, kStart, delta));
    ASSERT_TRUE(set_component(replicas[0], registry, ship, Health{42}, kStart, delta));
    ASSERT_FALSE(replicas[1].merge(replicas[0].encode(delta), kStart));
    const auto transform = get_component<NetworkTransform>(replicas[1], registry, ship);
    ASSERT_TRUE(transform);
    EXPECT_NEAR(transform->position.x, 1.25f, 0.0005f);
    EXPECT_NEAR(transform->position.y, -3.5f, 0.0005f);
    EXPECT_NEAR(transform->position.z, 100.0f, 0.0005f);
    EXPECT_EQ(get_component<Health>(replicas[1], registry, ship)->points, 42);
    EXPECT_LE(replicas[1].get(ship, ComponentRegistry::kTransform)->size(), 14u);  // 66 bits + smallest three
}

TEST(CrdtComponents, BytesThatAreNotTheComponentsEncodingDoNotDecode)
{
    const ComponentRegistry registry = registry_with_health();
    const auto health = *registry.id<Health>();
    std::vector<std::byte> bytes;
    ASSERT_TRUE(encode_component(registry, health, std::any(Health{150}), bytes));
    EXPECT_TRUE(decode_component(registry, health, bytes));
    bytes.push_back(std::byte{0});
    EXPECT_FALSE(decode_component(registry, health, bytes));                         // trailing bytes
    EXPECT_FALSE(decode_component(registry, health, {}));                            // too short
    EXPECT_FALSE(decode_component(registry, 7, bytes));                              // not registered
    EXPECT_FALSE(encode_component(registry, health, std::any(Health{500}), bytes));  // out of its range
}
