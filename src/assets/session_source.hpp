// Chunks from the game server over the session's asset channel (asset_wire.hpp): a bounded number of requests
// outstanding, answers handed to the scheduler, which verifies them like any other source's.
#pragma once

#include <map>

#include "assets/asset_wire.hpp"
#include "assets/chunk_source.hpp"

namespace eustress::net::assets {

class SessionSource final : public ChunkSource
{
  public:
    SessionSource(Client& client, ChannelId channel, unsigned in_flight);
    void update(FetchScheduler& scheduler, Timestamp now) override;
    bool handle(const NetworkEvent& event, FetchScheduler& scheduler, Timestamp now) override;

  private:
    void fail_all_in_flight(FetchScheduler& scheduler, const std::string& why, Timestamp now);

    Client& m_client;
    ChannelId m_channel;
    unsigned m_in_flight_limit;
    struct InFlight
    {
        ManifestChunk chunk;
        std::vector<std::byte> received;  ///< the pieces so far, in order
    };
    void take_piece(const AssetMessage& piece, FetchScheduler& scheduler, Timestamp now);

    std::map<ChunkId, InFlight> m_in_flight;
    std::optional<ManifestChunk> m_unsent;  ///< taken from the scheduler, refused by a full send queue: sent next
};

}  // namespace eustress::net::assets
