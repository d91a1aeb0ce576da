#include "assets/fetch_scheduler.hpp"

#include <algorithm>

namespace eustress::net::assets {
namespace {

constexpr Duration kRateWindow = std::chrono::seconds(5);

}  // namespace

FetchScheduler::FetchScheduler(Manifest manifest, ChunkStore& store, unsigned max_attempts)
    : m_manifest(std::move(manifest)), m_store(store), m_max_attempts(max_attempts)
{
    // What this release needs stays on disk while it is fetched, whatever the store's capacity asks.
    m_store.pin("fetching:" + m_manifest.release, m_manifest.chunk_ids());
}

Result<StreamId> FetchScheduler::open(const StreamRequest& request, Timestamp)
{
    const ManifestFile* file = m_manifest.find(request.path);
    if (!file)
        return make_error(ErrorCode::InvalidArgument,
                          "no file '" + request.path + "' in release " + m_manifest.release);
    if (request.offset > file->size || (request.offset == file->size && file->size > 0))
        return make_error(ErrorCode::InvalidArgument, "offset " + std::to_string(request.offset) + " is past the end");
    const std::uint64_t end = request.offset + std::min(request.length, file->size - request.offset);
    Stream stream{static_cast<StreamId>(m_streams.size() + 1), file, request.offset, end, 0, 0};
    const auto& chunks = file->chunks;
    while (stream.next < chunks.size() && chunks[stream.next].offset + chunks[stream.next].size <= stream.begin)
        ++stream.next;
    stream.last = stream.next;
    stream.first = stream.next;
    while (stream.last < chunks.size() && chunks[stream.last].offset < stream.end)
        need(chunks[stream.last++], request.priority);
    m_streams.push_back(stream);
    deliver(m_streams.back());
    return stream.id;
}

void FetchScheduler::need(const ManifestChunk& chunk, int priority)
{
    auto [found, inserted] = m_chunks.try_emplace(chunk.id);
    ChunkState& state = found->second;
    ++state.deliveries_left;
    if (inserted)
    {
        state.chunk = chunk;
        state.key = {priority, m_sequence++, chunk.id};
        m_progress.chunks_total += 1;
        m_progress.bytes_total += chunk.size;
        if (m_store.contains(chunk.id))
        {
            state.state = State::Ready;  // verified again when read
            state.counted_done = true;
            ++m_progress.chunks_from_store;
            ++m_progress.chunks_done;
            m_progress.bytes_done += chunk.size;
            return;
        }
        m_queue.insert(state.key);
        return;
    }
    if (state.state == State::Missing && priority < std::get<0>(state.key))
    {
        m_queue.erase(state.key);  // a more urgent stream needs it: move it up
        std::get<0>(state.key) = priority;
        m_queue.insert(state.key);
    }
}

std::optional<ManifestChunk> FetchScheduler::next_to_fetch()
{
    return next_to_fetch([](const ManifestChunk&) { return true; });
}

std::optional<ManifestChunk> FetchScheduler::next_to_fetch(const std::function<bool(const ManifestChunk&)>& can_serve)
{
    for (auto key = m_queue.begin(); key != m_queue.end(); ++key)
    {
        ChunkState& state = m_chunks.at(std::get<2>(*key));
        if (!can_serve(state.chunk))
            continue;
        m_queue.erase(key);
        state.state = State::InFlight;
        state.fetchers = 1;
        return state.chunk;
    }
    return std::nullopt;
}

std::optional<ManifestChunk> FetchScheduler::next_to_race(const std::function<bool(const ManifestChunk&)>& can_serve)
{
    for (const auto& stream : m_streams)
    {
        if (stream.closed || stream.next != stream.first || stream.next >= stream.last)
            continue;
        ChunkState& state = m_chunks.at(stream.file->chunks[stream.next].id);
        if (state.state != State::InFlight || state.raced || !can_serve(state.chunk))
            continue;
        state.raced = true;
        ++state.fetchers;
        return state.chunk;
    }
    return std::nullopt;
}

bool FetchScheduler::on_received(const ManifestChunk& chunk, Bytes stored, Timestamp now)
{
    m_progress.bytes_fetched += stored.size();
    auto raw = decode_chunk(stored, chunk.size, chunk.id);
    if (!raw)
    {
        on_failed(chunk, raw.error().reason, raw.error().message, now);
        return false;
    }
    ChunkState& state = m_chunks.at(chunk.id);
    if (state.state == State::Ready)
        return true;  // the other source of a race answered first
    if (auto kept = m_store.put_verified(chunk.id, stored); !kept)
        m_progress.store_errors += 1;  // still handed over from memory; fetched again next time
    mark_ready(state, std::move(*raw), now);
    for (auto& stream : m_streams)
        deliver(stream);
    return true;
}

void FetchScheduler::on_failed(const ManifestChunk& chunk, Refusal reason, const std::string& message, Timestamp)
{
    ++m_progress.refused[static_cast<std::size_t>(reason)];
    ChunkState& state = m_chunks.at(chunk.id);
    if (state.state != State::InFlight)
        return;
    if (state.fetchers > 0 && --state.fetchers > 0)
        return;  // the other source of a race may still answer
    if (++state.attempts < m_max_attempts)
    {
        state.state = State::Missing;
        state.raced = false;
        m_queue.insert(state.key);
        return;
    }
    state.state = State::Failed;
    fail_streams_waiting_on(chunk.id, std::string(to_string(reason)) + ": " + message + " (after " +
                                          std::to_string(state.attempts) + " attempts)");
}

void FetchScheduler::mark_ready(ChunkState& state, std::vector<std::byte> raw, Timestamp now)
{
    state.state = State::Ready;
    if (!raw.empty())
        state.raw = std::move(raw);
    if (state.counted_done)
        return;
    state.counted_done = true;
    ++m_progress.chunks_done;
    m_progress.bytes_done += state.chunk.size;
    m_rate_samples.emplace_back(now, state.chunk.size);
    while (m_rate_samples.size() > 1 && now - m_rate_samples.front().first > kRateWindow)
        m_rate_samples.pop_front();
}

void FetchScheduler::deliver(Stream& stream)
{
    const auto& chunks = stream.file->chunks;
    while (!stream.closed && stream.next < stream.last)
    {
        const ManifestChunk& chunk = chunks[stream.next];
        ChunkState& state = m_chunks.at(chunk.id);
        if (state.state != State::Ready)
            return;
        // The last stream to need the bytes takes them, and a whole chunk travels without a copy.
        std::vector<std::byte> raw = state.deliveries_left == 1 ? std::move(state.raw) : state.raw;
        if (raw.empty())
        {
            auto read = m_store.get(chunk.id, chunk.size);
            if (!read)  // corrupt or lost on disk since: fetch it again
            {
                state.state = State::Missing;
                m_queue.insert(state.key);
                return;
            }
            raw = std::move(*read);
        }
        const std::uint64_t from = std::max(stream.begin, chunk.offset);
        const std::uint64_t to = std::min(stream.end, chunk.offset + chunk.size);
        if (from != chunk.offset || to != chunk.offset + chunk.size)
            raw = std::vector<std::byte>(raw.begin() + static_cast<std::ptrdiff_t>(from - chunk.offset),
                                         raw.begin() + static_cast<std::ptrdiff_t>(to - chunk.offset));
        m_events.emplace_back(std::in_place_type<StreamData>, StreamData{stream.id, from, std::move(raw)});
        if (--state.deliveries_left == 0)
            std::vector<std::byte>().swap(state.raw);
        ++stream.next;
    }
    if (!stream.closed)
    {
        stream.closed = true;
        m_events.emplace_back(std::in_place_type<StreamDone>, StreamDone{stream.id});
    }
}

void FetchScheduler::fail_streams_waiting_on(const ChunkId& id, const std::string& reason)
{
    for (auto& stream : m_streams)
    {
        if (stream.closed)
            continue;
        const auto& chunks = stream.file->chunks;
        const bool waiting = std::any_of(chunks.begin() + static_cast<std::ptrdiff_t>(stream.next),
                                         chunks.begin() + static_cast<std::ptrdiff_t>(stream.last),
                                         [&](const ManifestChunk& chunk) { return chunk.id == id; });
        if (!waiting)
            continue;
        stream.closed = true;
        m_events.emplace_back(std::in_place_type<StreamFailed>,
                              StreamFailed{stream.id, "'" + stream.file->path + "': " + reason});
    }
}

std::vector<AssetEvent> FetchScheduler::take_events()
{
    return std::exchange(m_events, {});
}

FetchProgress FetchScheduler::progress(Timestamp now) const
{
    FetchProgress progress = m_progress;
    if (m_rate_samples.size() >= 2)
    {
        std::uint64_t bytes = 0;
        for (const auto& [when, size] : m_rate_samples)
            if (now - when <= kRateWindow)
                bytes += size;
        const auto span = std::chrono::duration<double>(now - m_rate_samples.front().first).count();
        if (span > 0)
            progress.rate_bytes_per_second = static_cast<double>(bytes) / std::min(span, 5.0);
    }
    if (progress.rate_bytes_per_second > 0)
        progress.eta = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
            static_cast<double>(progress.bytes_total - progress.bytes_done) / progress.rate_bytes_per_second));
    return progress;
}

bool FetchScheduler::finished() const
{
    return std::all_of(m_streams.begin(), m_streams.end(), [](const Stream& stream) { return stream.closed; });
}

}  // namespace eustress::net::assets
