#include <algorithm>

#include "eustress/net/replication.hpp"

namespace eustress::net {

namespace {

const BandwidthBudget::Tier* tier_for(const std::vector<BandwidthBudget::Tier>& tiers, std::size_t players)
{
    const auto found = std::find_if(tiers.begin(), tiers.end(), [players](const BandwidthBudget::Tier& tier) {
        return players <= tier.up_to_players;
    });
    if (found != tiers.end())
        return &*found;
    return tiers.empty() ? nullptr : &tiers.back();
}

}  // namespace

std::uint64_t BandwidthBudget::download_for(std::size_t players) const noexcept
{
    const Tier* tier = tier_for(tiers, players);
    return tier ? tier->download_bits_per_second : 0;
}

std::uint64_t BandwidthBudget::upload_for(std::size_t players) const noexcept
{
    const Tier* tier = tier_for(tiers, players);
    return tier ? tier->upload_bits_per_second : 0;
}

ReplicationChannels add_replication_channels(ChannelTable& table)
{
    ReplicationChannels channels;
    channels.entities = static_cast<ChannelId>(table.channels.size());
    table.channels.push_back({.name = "replication.entities", .kind = ChannelKind::ReliableOrdered, .priority = 200});
    channels.snapshots = static_cast<ChannelId>(table.channels.size());
    table.channels.push_back({.name = "replication.snapshots", .kind = ChannelKind::Unreliable, .priority = 190});
    return channels;
}

}  // namespace eustress::net
