// RetiredStates: a state the World replaced lives until every client's records were swept after the last tick a
// record named it, and no longer.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "replication/retired_states.hpp"

namespace eustress::net::replication {
namespace {

TEST(RetiredStates, AStateLivesUntilTheHorizonPassesTheLastTickARecordNamedIt)
{
    RetiredStates retired;
    std::weak_ptr<const QuantizedEntity> watched;
    {
        auto state = std::make_shared<const QuantizedEntity>();
        watched = state;
        retired.retire(std::move(state), 10);
    }
    retired.release_older_than(10, 1);  // records made up to tick 9 may name it; the horizon has not passed 10
    EXPECT_FALSE(watched.expired());
    RetiredStates::mark(*watched.lock(), 25);  // a sweep at tick 25 found it in a record (a held-back entity)
    retired.release_older_than(20, 1);
    EXPECT_FALSE(watched.expired());
    retired.release_older_than(25, 1);
    EXPECT_FALSE(watched.expired());
    retired.release_older_than(26, 1);  // every client swept after 25: no record names it
    EXPECT_TRUE(watched.expired());
    EXPECT_EQ(retired.size(), 0u);
}

TEST(RetiredStates, TheWorldsOwnReferenceIsReleasedWithTheStateAndNotBefore)
{
    // The server retires its reference and the World's to the same state together (releasing the World's at once
    // was a cache miss per moved entity): the state lives while either could be needed and is freed once.
    RetiredStates retired;
    std::weak_ptr<const QuantizedEntity> watched;
    {
        auto state = std::make_shared<const QuantizedEntity>();
        auto worlds = state;
        watched = state;
        retired.retire(std::move(state), 10, std::move(worlds));
    }
    EXPECT_EQ(watched.use_count(), 2);
    retired.release_older_than(10, 1);
    EXPECT_FALSE(watched.expired());
    retired.release_older_than(11, 1);
    EXPECT_TRUE(watched.expired());
}

TEST(RetiredStates, AStateNamedNoLongerIsFreedAsTheHorizonPassesItsRetirement)
{
    RetiredStates retired;
    std::vector<std::weak_ptr<const QuantizedEntity>> watched;
    for (Tick tick = 1; tick <= 100; ++tick)
    {
        auto state = std::make_shared<const QuantizedEntity>();
        watched.push_back(state);
        retired.retire(std::move(state), tick);
    }
    retired.release_older_than(51, 10);
    EXPECT_EQ(retired.size(), 50u);  // retired at ticks 1-50: all of them at once, in one call
    for (std::size_t i = 0; i < watched.size(); ++i)
        EXPECT_EQ(watched[i].expired(), i < 50) << "state " << i + 1;
}

TEST(RetiredStates, AStateStillNamedWhenTheHorizonPassesItsRetirementLivesUntilTheHorizonPassesItsMark)
{
    RetiredStates retired;
    std::vector<std::weak_ptr<const QuantizedEntity>> watched;
    for (int i = 0; i < 100; ++i)
    {
        auto state = std::make_shared<const QuantizedEntity>();
        watched.push_back(state);
        retired.retire(state, 1);
        if (i % 2 == 0)
            RetiredStates::mark(*state, 200);  // a sweep found it in a record: an entity held back for long
    }
    retired.release_older_than(50, 10);
    EXPECT_EQ(retired.size(), 50u);  // the odd ones were named by nothing
    for (int call = 0; call < 10; ++call)
        retired.release_older_than(150, 10);
    EXPECT_EQ(retired.size(), 50u);
    for (int call = 0; call < 10; ++call)  // each is looked at within a period of calls
        retired.release_older_than(201, 10);
    EXPECT_EQ(retired.size(), 0u);
    for (const auto& state : watched)
        EXPECT_TRUE(state.expired());
}

TEST(RetiredStates, TheMarkIsNotPartOfTheState)
{
    QuantizedEntity a;
    QuantizedEntity b;
    RetiredStates::mark(a, 7);
    EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace eustress::net::replication
