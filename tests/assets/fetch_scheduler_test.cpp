// The fetcher's logic in virtual time, with no network: the test plays the origin, answering (or corrupting) the
// requests the scheduler makes.
#include <map>

#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "assets/fetch_scheduler.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;
using namespace std::chrono_literals;

namespace {

/// A release built in memory: its manifest and what an origin would serve for each chunk.
struct FakeRelease
{
    Manifest manifest;
    std::map<ChunkId, std::vector<std::byte>> served;
    std::map<std::string, std::vector<std::byte>> contents;

    void add(const std::string& path, std::vector<std::byte> bytes)
    {
        ManifestFile file{path, bytes.size(), {}};
        for (const auto& [offset, length] : cut_chunks(bytes, {}))
        {
            const Bytes raw = Bytes(bytes).subspan(offset, length);
            const auto id = hash_chunk(raw);
            served[id] = encode_chunk(raw);
            file.chunks.push_back({id, offset, length, static_cast<std::uint32_t>(served[id].size())});
        }
        contents[path] = std::move(bytes);
        manifest.files.push_back(std::move(file));
        std::sort(manifest.files.begin(), manifest.files.end(),
                  [](const auto& a, const auto& b) { return a.path < b.path; });
    }
};

Timestamp at(Duration since_start)
{
    return timestamp_from(since_start);
}

struct Fetching : ::testing::Test
{
    TemporaryDirectory directory;
    std::unique_ptr<ChunkStore> store = std::move(*ChunkStore::open({.directory = directory.path()}));
    FakeRelease release;

    /// Answers every request correctly until nothing is left to fetch; returns the chunks served, in order.
    std::vector<ChunkId> serve_all(FetchScheduler& scheduler, Timestamp now)
    {
        std::vector<ChunkId> served;
        for (int i = 0; i < 10'000; ++i)
        {
            const auto chunk = scheduler.next_to_fetch();
            if (!chunk)
                break;
            served.push_back(chunk->id);
            scheduler.on_received(*chunk, release.served.at(chunk->id), now);
        }
        return served;
    }
};

/// Concatenates a stream's data events (which must be contiguous) and reports whether it ended done.
std::pair<std::vector<std::byte>, bool> collect(const std::vector<AssetEvent>& events, StreamId stream)
{
    std::vector<std::byte> bytes;
    bool done = false;
    for (const auto& event : events)
    {
        if (const auto* data = std::get_if<StreamData>(&event); data && data->stream == stream)
            bytes.insert(bytes.end(), data->bytes.begin(), data->bytes.end());
        if (const auto* end = std::get_if<StreamDone>(&event); end && end->stream == stream)
            done = true;
    }
    return {bytes, done};
}

}  // namespace

TEST_F(Fetching, TheFirstVerifiedChunkIsHandedOverBeforeTheRestArrives)
{
    release.add("map", random_bytes(1 << 20, 1));
    FetchScheduler scheduler(release.manifest, *store, 3);
    const auto stream = *scheduler.open({.path = "map"}, at(0s));
    const auto first = *scheduler.next_to_fetch();
    EXPECT_EQ(first.offset, 0u);
    scheduler.on_received(first, release.served.at(first.id), at(10ms));
    const auto events = scheduler.take_events();
    ASSERT_EQ(events.size(), 1u);
    const auto& data = std::get<StreamData>(events[0]);
    EXPECT_EQ(data.stream, stream);
    EXPECT_EQ(data.offset, 0u);
    EXPECT_EQ(data.bytes.size(), first.size);
}

TEST_F(Fetching, ChunksArrivingOutOfOrderAreHandedOverInOrder)
{
    release.add("map", random_bytes(1 << 20, 2));
    FetchScheduler scheduler(release.manifest, *store, 3);
    const auto stream = *scheduler.open({.path = "map"}, at(0s));
    const auto first = *scheduler.next_to_fetch();
    const auto second = *scheduler.next_to_fetch();
    scheduler.on_received(second, release.served.at(second.id), at(1ms));
    EXPECT_TRUE(scheduler.take_events().empty());  // nothing before the first chunk
    scheduler.on_received(first, release.served.at(first.id), at(2ms));
    std::vector<AssetEvent> events = scheduler.take_events();
    serve_all(scheduler, at(3ms));
    for (auto& event : scheduler.take_events())
        events.push_back(std::move(event));
    const auto [bytes, done] = collect(events, stream);
    EXPECT_TRUE(done);
    EXPECT_EQ(bytes, release.contents["map"]);
}

TEST_F(Fetching, TheMoreUrgentStreamIsFetchedFirst)
{
    release.add("skins", random_bytes(512 << 10, 3));
    release.add("map", random_bytes(512 << 10, 4));
    FetchScheduler scheduler(release.manifest, *store, 3);
    ASSERT_TRUE(scheduler.open({.path = "skins", .priority = 5}, at(0s)));
    ASSERT_TRUE(scheduler.open({.path = "map", .priority = 0}, at(0s)));
    const auto* map = release.manifest.find("map");
    for (const auto& chunk : map->chunks)
        EXPECT_EQ(scheduler.next_to_fetch()->id, chunk.id);  // every map chunk before any skin chunk
}

TEST_F(Fetching, ACorruptChunkIsRetriedThenRefusedAndNeverHandedOver)
{
    release.add("map", random_bytes(200 << 10, 5));
    FetchScheduler scheduler(release.manifest, *store, 3);
    const auto stream = *scheduler.open({.path = "map"}, at(0s));
    std::vector<AssetEvent> events;
    for (int attempt = 0; attempt < 3; ++attempt)
    {
        const auto chunk = *scheduler.next_to_fetch();  // the first chunk, asked for again after each refusal
        EXPECT_EQ(chunk.offset, 0u);
        auto corrupt = release.served.at(chunk.id);
        corrupt.back() ^= std::byte{0x40};
        scheduler.on_received(chunk, corrupt, at(1ms));
        for (auto& event : scheduler.take_events())
            events.push_back(std::move(event));
    }
    EXPECT_EQ(scheduler.progress(at(1ms)).refused[static_cast<std::size_t>(Refusal::HashMismatch)], 3u);
    ASSERT_EQ(events.size(), 1u);
    const auto& failed = std::get<StreamFailed>(events[0]);
    EXPECT_EQ(failed.stream, stream);
    EXPECT_NE(failed.reason.find("hash_mismatch"), std::string::npos);
    EXPECT_TRUE(scheduler.finished());
}

TEST_F(Fetching, ChunksAlreadyVerifiedInTheStoreAreNotFetchedAgain)
{
    release.add("map", random_bytes(2 << 20, 6));
    const auto& chunks = release.manifest.files[0].chunks;
    for (std::size_t i = 0; i < chunks.size() / 2; ++i)  // an earlier, interrupted fetch
        ASSERT_TRUE(store->put(chunks[i].id, release.served.at(chunks[i].id), chunks[i].size));
    FetchScheduler scheduler(release.manifest, *store, 3);
    const auto stream = *scheduler.open({.path = "map"}, at(0s));
    const auto fetched = serve_all(scheduler, at(1ms));
    EXPECT_EQ(fetched.size(), chunks.size() - chunks.size() / 2);
    EXPECT_EQ(scheduler.progress(at(1ms)).chunks_from_store, chunks.size() / 2);
    const auto [bytes, done] = collect(scheduler.take_events(), stream);
    EXPECT_TRUE(done);
    EXPECT_EQ(bytes, release.contents["map"]);
}

TEST_F(Fetching, ARangeRequestGetsExactlyItsBytes)
{
    release.add("map", random_bytes(1 << 20, 7));
    FetchScheduler scheduler(release.manifest, *store, 3);
    const auto stream = *scheduler.open({.path = "map", .offset = 300'000, .length = 100'000}, at(0s));
    const auto fetched = serve_all(scheduler, at(1ms));
    EXPECT_LE(fetched.size(), 1 + 100'000 / ChunkingConfig{}.min_size + 1);
    const auto [bytes, done] = collect(scheduler.take_events(), stream);
    EXPECT_TRUE(done);
    const auto& all = release.contents["map"];
    EXPECT_EQ(bytes, std::vector<std::byte>(all.begin() + 300'000, all.begin() + 400'000));
}

TEST_F(Fetching, ProgressReportsTheRateAndTheTimeLeft)
{
    release.add("map", random_bytes(1 << 20, 8));
    FetchScheduler scheduler(release.manifest, *store, 3);
    ASSERT_TRUE(scheduler.open({.path = "map"}, at(0s)));
    // One chunk every 100 ms.
    Duration now = 0s;
    for (int i = 0; i < 6; ++i)
    {
        const auto chunk = *scheduler.next_to_fetch();
        now += 100ms;
        scheduler.on_received(chunk, release.served.at(chunk.id), at(now));
    }
    const auto progress = scheduler.progress(at(now));
    EXPECT_EQ(progress.chunks_done, 6u);
    const double expected_rate = static_cast<double>(progress.bytes_done) / 0.6;
    EXPECT_GT(progress.rate_bytes_per_second, 0.5 * expected_rate);
    EXPECT_LT(progress.rate_bytes_per_second, 2.0 * expected_rate);
    ASSERT_TRUE(progress.eta);
    EXPECT_GT(*progress.eta, 0s);
}

TEST_F(Fetching, AFileNotInTheReleaseIsRefusedAtOpen)
{
    release.add("map", random_bytes(1000, 9));
    FetchScheduler scheduler(release.manifest, *store, 3);
    EXPECT_FALSE(scheduler.open({.path = "../map"}, at(0s)));
    EXPECT_FALSE(scheduler.open({.path = "map", .offset = 5000}, at(0s)));
}
