#include "assets/session_source.hpp"

#include "eustress/net/client.hpp"

namespace eustress::net::assets {

SessionSource::SessionSource(Client& client, ChannelId channel, unsigned in_flight)
    : m_client(client), m_channel(channel), m_in_flight_limit(in_flight)
{}

void SessionSource::update(FetchScheduler& scheduler, Timestamp now)
{
    if (!m_client.is_connected())
        return;
    while (m_in_flight.size() < m_in_flight_limit)
    {
        auto chunk = m_unsent ? m_unsent : scheduler.next_to_fetch();
        m_unsent.reset();
        if (!chunk)
            return;
        if (m_in_flight.contains(chunk->id))
            continue;  // asked for already: the answer serves both
        const auto request = write_asset_request(AssetMessageKind::Request, chunk->id);
        auto sent = m_client.send(m_channel, request, now);
        if (!sent)
        {
            if (sent.error().code == ErrorCode::QueueFull)
            {
                m_unsent = chunk;
                return;
            }
            scheduler.on_failed(*chunk, Refusal::Transport, sent.error().message, now);
            continue;
        }
        m_in_flight.emplace(chunk->id, InFlight{*chunk, {}});
    }
}

bool SessionSource::handle(const NetworkEvent& event, FetchScheduler& scheduler, Timestamp now)
{
    if (const auto* gone = std::get_if<DisconnectedEvent>(&event))
    {
        fail_all_in_flight(scheduler, "disconnected: " + gone->reason, now);
        return false;  // the game wants to know too
    }
    const auto* message = std::get_if<MessageEvent>(&event);
    if (!message || message->channel != m_channel)
        return false;
    const auto parsed = parse_asset_message(message->data);
    if (!parsed)
        return true;  // nothing we asked for can be matched to it: the requests fail with the session
    if (parsed->kind == AssetMessageKind::Piece)
        take_piece(*parsed, scheduler, now);
    else if (const auto found = m_in_flight.find(parsed->id); found != m_in_flight.end())
    {
        const ManifestChunk chunk = found->second.chunk;
        m_in_flight.erase(found);
        scheduler.on_failed(chunk, Refusal::NotServed, "the game server does not have it", now);
    }
    return true;
}

void SessionSource::take_piece(const AssetMessage& piece, FetchScheduler& scheduler, Timestamp now)
{
    const auto found = m_in_flight.find(piece.id);
    if (found == m_in_flight.end())
        return;  // not asked for, or refused already: the rest of a refused answer
    auto& [chunk, received] = found->second;
    if (received.empty() && piece.offset != 0)
        return;  // the tail of an earlier answer for this chunk, refused before this request went out
    std::optional<std::string> wrong;
    if (piece.stored_size != chunk.stored_size)
        wrong = "the server's chunk is " + std::to_string(piece.stored_size) + " bytes, the manifest's " +
                std::to_string(chunk.stored_size);
    else if (piece.offset != received.size())
        wrong = "a piece at " + std::to_string(piece.offset) + " where " + std::to_string(received.size()) + " was due";
    if (wrong)
    {
        const ManifestChunk refused = chunk;
        m_in_flight.erase(found);
        return scheduler.on_failed(refused, Refusal::WrongStoredSize, *wrong, now);
    }
    received.insert(received.end(), piece.bytes.begin(), piece.bytes.end());
    if (received.size() < chunk.stored_size)
        return;
    const InFlight done = std::move(found->second);
    m_in_flight.erase(found);
    scheduler.on_received(done.chunk, done.received, now);
}

void SessionSource::fail_all_in_flight(FetchScheduler& scheduler, const std::string& why, Timestamp now)
{
    for (const auto& [id, in_flight] : std::exchange(m_in_flight, {}))
        scheduler.on_failed(in_flight.chunk, Refusal::Transport, why, now);
    if (m_unsent)
        scheduler.on_failed(*std::exchange(m_unsent, std::nullopt), Refusal::Transport, why, now);
}

}  // namespace eustress::net::assets
