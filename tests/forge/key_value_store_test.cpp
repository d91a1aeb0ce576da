// One contract, two backends: the in-process store and a real etcd (a single member the test starts), so Forge's
// code behaves the same on a laptop and on a cluster.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "forge/etcd_cluster.hpp"
#include "forge/key_value_store.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;
using namespace std::chrono_literals;

class StoreContract : public ::testing::TestWithParam<const char*>
{
  protected:
    void SetUp() override
    {
        if (std::string(GetParam()) == "etcd")
        {
            m_cluster = std::make_unique<EtcdCluster>(1);
            ASSERT_TRUE(m_cluster->wait_healthy()) << "etcd did not start (is etcd-server installed?)";
            auto store = make_etcd_store(m_cluster->endpoints());
            ASSERT_TRUE(store.ok()) << store.error().message;
            m_store = std::move(store).value();
        }
        else
            m_store = make_memory_store();
    }

    KeyValueStore& store() { return *m_store; }

  private:
    std::unique_ptr<EtcdCluster> m_cluster;
    std::unique_ptr<KeyValueStore> m_store;
};

TEST_P(StoreContract, PutGetListAndRemove)
{
    ASSERT_TRUE(store().put("/t/a", "1").ok());
    ASSERT_TRUE(store().put("/t/b", "two").ok());
    ASSERT_TRUE(store().put("/u/c", "3").ok());
    auto a = store().get("/t/a");
    ASSERT_TRUE(a.ok() && a->has_value());
    EXPECT_EQ((*a)->value, "1");
    EXPECT_GT((*a)->revision, 0);
    auto listed = store().list("/t/");
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[1].value, "two");
    ASSERT_TRUE(store().remove("/t/a").ok());
    EXPECT_FALSE(store().get("/t/a")->has_value());
    EXPECT_FALSE(store().get("/nothing")->has_value());
}

TEST_P(StoreContract, CompareAndPutWritesOnlyOverTheRevisionItRead)
{
    EXPECT_TRUE(*store().compare_and_put("/k", "first", 0));   // created: it did not exist
    EXPECT_FALSE(*store().compare_and_put("/k", "again", 0));  // exists now
    const auto read = *store().get("/k");
    EXPECT_TRUE(*store().compare_and_put("/k", "second", read->revision));
    EXPECT_FALSE(*store().compare_and_put("/k", "stale", read->revision));  // someone wrote since
    EXPECT_EQ((*store().get("/k"))->value, "second");
    EXPECT_FALSE(*store().compare_and_remove("/k", read->revision));
    EXPECT_TRUE(*store().compare_and_remove("/k", (*store().get("/k"))->revision));
    EXPECT_FALSE(store().get("/k")->has_value());
}

TEST_P(StoreContract, OfManyConcurrentSwapsOfOneRevisionExactlyOneWins)
{
    ASSERT_TRUE(store().put("/race", "free").ok());
    const std::int64_t revision = (*store().get("/race"))->revision;
    std::atomic<int> winners{0};
    std::vector<std::thread> racers;
    for (int i = 0; i < 8; ++i)
        racers.emplace_back([&, i] {
            if (auto won = store().compare_and_put("/race", "taken by " + std::to_string(i), revision); won && *won)
                ++winners;
        });
    for (auto& racer : racers)
        racer.join();
    EXPECT_EQ(winners.load(), 1);
}

TEST_P(StoreContract, KeysLeaveWithTheirExpiredLease)
{
    auto lease = store().grant_lease(2s);
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE(store().put("/leased", "x", *lease).ok());
    ASSERT_TRUE(store().keep_alive(*lease).ok());
    EXPECT_TRUE(store().get("/leased")->has_value());
    const auto deadline = std::chrono::steady_clock::now() + 8s;
    while (store().get("/leased")->has_value() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(store().get("/leased")->has_value());
    auto late = store().keep_alive(*lease);
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().code, ForgeErrc::LeaseExpired);
    EXPECT_EQ(store().put("/after", "y", *lease).error().code, ForgeErrc::LeaseExpired);
}

TEST_P(StoreContract, RevokingALeaseRemovesItsKeysAtOnce)
{
    auto lease = store().grant_lease(30s);
    ASSERT_TRUE(store().put("/host/server", "x", *lease).ok());
    ASSERT_TRUE(store().revoke(*lease).ok());
    EXPECT_FALSE(store().get("/host/server")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("memory", "etcd"));

TEST(EtcdStore, FailsOverToAnotherMemberAndSaysWhenNoneAnswers)
{
    EtcdCluster cluster(3);
    ASSERT_TRUE(cluster.wait_healthy());
    auto store = make_etcd_store(cluster.endpoints(), 1000ms);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put("/k", "v").ok());
    cluster.stop(0);  // the member the store was talking to
    EXPECT_EQ((*(*store)->get("/k"))->value, "v");
    ASSERT_TRUE((*store)->put("/k2", "v2").ok());
    cluster.restart(0);
    ASSERT_TRUE(cluster.wait_healthy());
    auto only_first = make_etcd_store({cluster.endpoints()[0]});
    EXPECT_EQ((*(*only_first)->get("/k2"))->value, "v2");  // the restarted member caught up

    auto nowhere = make_etcd_store({"http://127.0.0.1:" + std::to_string(free_tcp_port())}, 300ms);
    auto failed = (*nowhere)->get("/k");
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, ForgeErrc::Unavailable);
    EXPECT_EQ(make_etcd_store({}).error().code, ForgeErrc::Invalid);
}

}  // namespace
}  // namespace eustress::net::testing
