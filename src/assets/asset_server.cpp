// The game server's side of the asset channel: answers chunk requests from a published folder, piece by piece
// (asset_wire.hpp), each client's answers waiting while the channel's paced queue is full, with a bound on what a
// client may have waiting.
#include <cstring>
#include <deque>
#include <fstream>
#include <unordered_map>

#include "assets/asset_wire.hpp"
#include "eustress/net/server.hpp"

namespace eustress::net::assets {
namespace {

std::optional<std::vector<std::byte>> read_published(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (chars.size() > kMaxChunkSize + 1)
        return std::nullopt;  // not a chunk we would publish
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    return bytes;
}

/// One client's requests: the answer being sent (its bytes and how far), then those waiting.
struct ClientQueue
{
    std::deque<ChunkId> waiting;
    std::optional<std::vector<std::byte>> current;
    std::size_t sent = 0;
};

}  // namespace

ChannelId add_asset_channel(ChannelTable& table, double bandwidth_share)
{
    ChannelConfig channel;
    channel.name = "assets";
    channel.kind = ChannelKind::ReliableOrdered;
    channel.priority = 16;  // below every default channel: filled last when the window is short
    channel.bandwidth_share = bandwidth_share;
    channel.max_message_size = kAssetPieceHeader + kAssetPieceSize;
    channel.send_queue_limit = 4 * channel.max_message_size;  // a few pieces: the share paces them out
    table.channels.push_back(channel);
    return static_cast<ChannelId>(table.channels.size() - 1);
}

struct AssetServer::Impl
{
    Server& server;
    ChannelId channel;
    std::filesystem::path published;
    std::size_t max_queued;
    std::unordered_map<std::uint64_t, ClientQueue> clients;
    std::uint64_t served = 0;
    std::uint64_t refused = 0;

    /// Sends `client`'s answers until the channel's queue is full.
    void drain(ClientId client, ClientQueue& queue, Timestamp now)
    {
        while (queue.current || !queue.waiting.empty())
        {
            const ChunkId id = queue.waiting.front();
            if (!queue.current)
            {
                queue.current = read_published(published / chunk_path(id));
                queue.sent = 0;
                if (!queue.current)
                {
                    if (!send(client, write_asset_request(AssetMessageKind::Missing, id), now))
                        return;
                    ++refused;
                    queue.waiting.pop_front();
                    continue;
                }
            }
            if (!send_pieces(client, queue, id, now))
                return;
            ++served;
            queue.current.reset();
            queue.waiting.pop_front();
        }
    }

    bool send_pieces(ClientId client, ClientQueue& queue, const ChunkId& id, Timestamp now)
    {
        const auto& bytes = *queue.current;
        do
        {
            const std::size_t length = std::min(kAssetPieceSize, bytes.size() - queue.sent);
            const auto piece =
                write_asset_piece(id, static_cast<std::uint32_t>(queue.sent), static_cast<std::uint32_t>(bytes.size()),
                                  Bytes(bytes).subspan(queue.sent, length));
            if (!send(client, piece, now))
                return false;
            queue.sent += length;
        } while (queue.sent < bytes.size());
        return true;
    }

    /// False when the channel's queue is full (try again at the next update); other errors drop the message (the
    /// connection is going away).
    bool send(ClientId client, Bytes message, Timestamp now)
    {
        auto sent = server.send(client, channel, message, now);
        return sent || sent.error().code != ErrorCode::QueueFull;
    }
};

AssetServer::AssetServer(Server& server, ChannelId channel, std::filesystem::path published, std::size_t max_queued)
    : m_impl(new Impl{server, channel, std::move(published), max_queued, {}})
{}

AssetServer::~AssetServer() = default;

bool AssetServer::handle(const NetworkEvent& event, Timestamp now)
{
    if (const auto* gone = std::get_if<DisconnectedEvent>(&event))
    {
        m_impl->clients.erase(static_cast<std::uint64_t>(gone->client_id));
        return false;
    }
    const auto* message = std::get_if<MessageEvent>(&event);
    if (!message || message->channel != m_impl->channel)
        return false;
    const auto parsed = parse_asset_message(message->data);
    auto& queue = m_impl->clients[static_cast<std::uint64_t>(message->from)];
    if (!parsed || parsed->kind != AssetMessageKind::Request || queue.waiting.size() >= m_impl->max_queued)
    {
        ++m_impl->refused;
        return true;
    }
    queue.waiting.push_back(parsed->id);
    m_impl->drain(message->from, queue, now);
    return true;
}

void AssetServer::update(Timestamp now)
{
    for (auto& [client, queue] : m_impl->clients)
        m_impl->drain(static_cast<ClientId>(client), queue, now);
}

std::uint64_t AssetServer::chunks_served() const noexcept
{
    return m_impl->served;
}

std::uint64_t AssetServer::requests_refused() const noexcept
{
    return m_impl->refused;
}

}  // namespace eustress::net::assets
