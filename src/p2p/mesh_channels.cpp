#include "p2p/mesh_channels.hpp"

#include <string>

#include "eustress/net/datagram_socket.hpp"
#include "p2p/signal_format.hpp"

namespace eustress::net::p2p {
namespace {

Result<void> check_one(const ChannelTable& table, ChannelId id, ChannelKind kind, std::size_t size, const char* role)
{
    const std::string name = std::string("mesh ") + role + " channel " + std::to_string(id);
    if (id >= table.channels.size())
        return make_error(ErrorCode::InvalidArgument, name + " is not declared");
    const auto& channel = table.channels[id];
    if (channel.kind != kind)
        return make_error(ErrorCode::InvalidArgument, name + " must be " + to_string(kind));
    if (channel.max_message_size < size)
        return make_error(ErrorCode::InvalidArgument,
                          name + " must take messages of " + std::to_string(size) + " bytes");
    return {};
}

}  // namespace

}  // namespace eustress::net::p2p

namespace eustress::net {

MeshChannels add_mesh_channels(ChannelTable& table)
{
    const auto signal = static_cast<ChannelId>(table.channels.size());
    table.channels.push_back({"mesh-signal", ChannelKind::ReliableOrdered, 200, 0.0, p2p::kMaxSignalSize});
    table.channels.push_back(
        {"mesh-relay", ChannelKind::Unreliable, 100, 0.0, p2p::kRelayHeaderSize + kMaxDatagramSize});
    return {signal, static_cast<ChannelId>(signal + 1)};
}

}  // namespace eustress::net

namespace eustress::net::p2p {

Result<void> check_mesh_channels(const ChannelTable& table, ChannelId signal, ChannelId relay)
{
    if (signal == relay)
        return make_error(ErrorCode::InvalidArgument, "mesh: the signal and relay channels must differ");
    if (auto ok = check_one(table, signal, ChannelKind::ReliableOrdered, kMaxSignalSize, "signal"); !ok)
        return ok;
    return check_one(table, relay, ChannelKind::Unreliable, kRelayHeaderSize + kMaxDatagramSize, "relay");
}

}  // namespace eustress::net::p2p
