// The fetcher's logic without I/O: which chunks the open streams still need, in what order to fetch them (the
// stream's priority, then the order the chunks were first asked for), what to hand each stream once its next chunk
// is verified, retries, and progress. The HTTP side (http_origin.hpp) only moves bytes; time is passed in.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {

class FetchScheduler
{
  public:
    FetchScheduler(Manifest manifest, ChunkStore& store, unsigned max_attempts);

    Result<StreamId> open(const StreamRequest& request, Timestamp now);
    /// The most urgent chunk nobody is fetching yet (now marked in flight), or none.
    std::optional<ManifestChunk> next_to_fetch();
    /// As above, among the chunks `can_serve` accepts (a peer fetches only what it holds).
    std::optional<ManifestChunk> next_to_fetch(const std::function<bool(const ManifestChunk&)>& can_serve);
    /// The first chunk of an open stream that has had no byte yet, if another source is already fetching it and
    /// nobody races it, among those `can_serve` accepts: asked of a second source too, the first verified answer
    /// wins. Only first chunks: a race costs the chunk twice, and pays off where the game waits with nothing.
    std::optional<ManifestChunk> next_to_race(const std::function<bool(const ManifestChunk&)>& can_serve);
    /// A response's body for `chunk`: verified here, kept in the store, or counted as refused and retried.
    /// True when it verified (or the chunk was already verified).
    bool on_received(const ManifestChunk& chunk, Bytes stored, Timestamp now);
    void on_failed(const ManifestChunk& chunk, Refusal reason, const std::string& message, Timestamp now);

    std::vector<AssetEvent> take_events();
    FetchProgress progress(Timestamp now) const;
    bool finished() const;

  private:
    enum class State : std::uint8_t
    {
        Missing,
        InFlight,
        Ready,
        Failed
    };
    using QueueKey = std::tuple<int, std::uint64_t, ChunkId>;  ///< priority, sequence, chunk
    struct ChunkState
    {
        ManifestChunk chunk;
        State state = State::Missing;
        QueueKey key;
        unsigned attempts = 0;
        unsigned fetchers = 0;  ///< sources with a request out for it (two when raced)
        bool raced = false;
        std::size_t deliveries_left = 0;  ///< stream positions still to hand this chunk's bytes to
        std::vector<std::byte> raw;       ///< kept from verification until delivered
        bool counted_done = false;
    };
    struct Stream
    {
        StreamId id;
        const ManifestFile* file;
        std::uint64_t begin, end;  ///< the byte range asked for
        std::size_t next;          ///< index in file->chunks of the next chunk to hand over
        std::size_t last;          ///< one past the last chunk of the range
        bool closed = false;
        std::size_t first = 0;  ///< index of the range's first chunk: racing helps only until it is handed over
    };

    void need(const ManifestChunk& chunk, int priority);
    void mark_ready(ChunkState& state, std::vector<std::byte> raw, Timestamp now);
    void deliver(Stream& stream);
    void fail_streams_waiting_on(const ChunkId& id, const std::string& reason);

    Manifest m_manifest;
    ChunkStore& m_store;
    unsigned m_max_attempts;
    std::map<ChunkId, ChunkState> m_chunks;
    std::set<QueueKey> m_queue;
    std::vector<Stream> m_streams;
    std::vector<AssetEvent> m_events;
    std::uint64_t m_sequence = 0;
    FetchProgress m_progress;
    std::deque<std::pair<Timestamp, std::uint64_t>> m_rate_samples;  ///< (when, raw bytes verified then)
};

}  // namespace eustress::net::assets
