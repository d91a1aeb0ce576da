// Services' API keys: parsed from a file's text, compared by hash; short keys are refused at load.
#include <gtest/gtest.h>

#include "forge/api_keys.hpp"

namespace eustress::net::testing {
namespace {

TEST(ApiKeys, AcceptsExactlyTheListedKeys)
{
    const auto keys = forge::ApiKeys::parse("# the game backend\nbackend-key-0123456789\n\n  ops-key-abcdefghijkl  \n");
    ASSERT_TRUE(keys);
    EXPECT_EQ(keys->size(), 2u);
    EXPECT_TRUE(keys->accepts("backend-key-0123456789"));
    EXPECT_TRUE(keys->accepts("ops-key-abcdefghijkl"));
    EXPECT_FALSE(keys->accepts("backend-key-012345678"));
    EXPECT_FALSE(keys->accepts("backend-key-01234567890"));
    EXPECT_FALSE(keys->accepts(""));
    EXPECT_FALSE(keys->accepts("# the game backend"));
}

TEST(ApiKeys, ShortKeysAreRefusedAndNoKeysAcceptNothing)
{
    EXPECT_FALSE(forge::ApiKeys::parse("short"));
    const auto none = forge::ApiKeys::parse("");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    EXPECT_FALSE(none->accepts(""));
    EXPECT_EQ(forge::ApiKeys::parse("first-key-0123456789,second-key-0123456789")->size(), 2u);
}

}  // namespace
}  // namespace eustress::net::testing
