#include "eustress/net/config.hpp"

#include <algorithm>
#include <string>

namespace eustress::net {

std::uint64_t default_unix_time()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Result<void> validate_channels_against_windows(const ChannelTable& channels, const QuicConfig& quic)
{
    if (auto valid = channels.validate(); !valid)
        return valid;
    // A reliable message is handed over only once complete, and flow-control credit returns only then, so the
    // largest one (plus its framing) must fit the receive windows or it could never arrive.
    const std::uint64_t window = std::min(quic.stream_window, quic.connection_window);
    for (const auto& channel : channels.channels)
        if (is_reliable(channel.kind) && channel.max_message_size + 16 > window)
            return make_error(ErrorCode::InvalidArgument, "channel '" + channel.name + "': max_message_size " +
                                                              std::to_string(channel.max_message_size) +
                                                              " does not fit the QUIC receive window of " +
                                                              std::to_string(window) +
                                                              " bytes (raise quic.stream_window / connection_window)");
    return {};
}

std::optional<LinkConditionerConfig> ClientConfig::effective_link_simulation() const
{
    if (link_simulation.enabled)
        return link_simulation.link;
    if (packet_loss_simulation > 0.0)
    {
        LinkConditionerConfig link;
        link.loss = packet_loss_simulation;
        link.seed = simulation_seed;
        return link;
    }
    return std::nullopt;
}

}  // namespace eustress::net
