#include "eustress/net/config.hpp"

namespace eustress::net {

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
