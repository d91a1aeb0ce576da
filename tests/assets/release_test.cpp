#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;
namespace fs = std::filesystem;

namespace {

Manifest read_published(const fs::path& out, const PublisherKeys& keys)
{
    const auto bytes = read_file(out / "manifest");
    auto manifest =
        read_manifest(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), keys.public_key);
    EXPECT_TRUE(manifest);
    return manifest ? *manifest : Manifest{};
}

}  // namespace

TEST(Release, PublishedChunksAndManifestDescribeTheFolderExactly)
{
    TemporaryDirectory work;
    const auto keys = generate_publisher_keys();
    write_file(work.path() / "in/maps/arena.map", random_bytes(3 << 20, 1));
    write_file(work.path() / "in/readme.txt", text_bytes(100'000));
    write_file(work.path() / "in/empty", {});
    auto summary = publish_release(work.path() / "in", work.path() / "out", keys, {.release = "one"});
    ASSERT_TRUE(summary) << summary.error().message;
    EXPECT_EQ(summary->files, 3u);
    EXPECT_EQ(summary->raw_bytes, (3u << 20) + 100'000u);
    EXPECT_LT(summary->stored_bytes, summary->raw_bytes);  // the text compressed
    const auto manifest = read_published(work.path() / "out", keys);
    EXPECT_EQ(manifest.release, "one");
    EXPECT_TRUE(verify_directory(work.path() / "in", manifest).empty());
    for (const auto& id : manifest.chunk_ids())
        EXPECT_TRUE(fs::exists(work.path() / "out" / chunk_path(id)));
}

TEST(Release, VerifyNamesEveryFileThatDiffersOrIsMissing)
{
    TemporaryDirectory work;
    const auto keys = generate_publisher_keys();
    write_file(work.path() / "in/a", random_bytes(200'000, 2));
    write_file(work.path() / "in/b", random_bytes(200'000, 3));
    ASSERT_TRUE(publish_release(work.path() / "in", work.path() / "out", keys));
    const auto manifest = read_published(work.path() / "out", keys);
    auto a = read_file(work.path() / "in/a");
    a[150'000] ^= std::byte{1};
    write_file(work.path() / "in/a", a);
    fs::remove(work.path() / "in/b");
    EXPECT_EQ(verify_directory(work.path() / "in", manifest), (std::vector<std::string>{"a", "b"}));
}

TEST(Release, ASecondReleaseWritesAndNeedsOnlyTheChangedChunks)
{
    TemporaryDirectory work;
    const auto keys = generate_publisher_keys();
    auto big = random_bytes(8 << 20, 4);
    write_file(work.path() / "in/big.pak", big);
    ASSERT_TRUE(publish_release(work.path() / "in", work.path() / "out", keys, {.release = "1"}));
    const auto first = read_published(work.path() / "out", keys);
    // 5% of the file rewritten in one place.
    const auto patch = random_bytes(big.size() / 20, 5);
    std::copy(patch.begin(), patch.end(), big.begin() + static_cast<std::ptrdiff_t>(big.size() / 2));
    write_file(work.path() / "in/big.pak", big);
    auto second_summary = publish_release(work.path() / "in", work.path() / "out", keys, {.release = "2"});
    ASSERT_TRUE(second_summary);
    const auto second = read_published(work.path() / "out", keys);
    const auto diff = diff_releases(first, second);
    EXPECT_EQ(diff.changed, std::vector<std::string>{"big.pak"});
    EXPECT_EQ(diff.chunks_to_fetch, second_summary->chunks_written);
    EXPECT_LT(diff.bytes_to_fetch, big.size() / 10);  // the 5% and the chunks at its two edges
    EXPECT_GT(diff.chunks_reused, 9 * diff.chunks_to_fetch);
}
