#include "demo_cubes.hpp"

#include <cmath>
#include <numbers>

namespace eustress::net::apps {

namespace {

constexpr Duration kTickInterval = std::chrono::duration_cast<Duration>(std::chrono::seconds(1)) / 60;

/// Where cube `index` of `count` is at `tick`: three rings turning at different speeds, bobbing, spinning.
NetworkTransform pose(std::size_t index, std::size_t count, Tick tick)
{
    const float ring = static_cast<float>(index % 3);
    const float t = static_cast<float>(tick) / DemoCubes::kTickRate;
    const float angle = 2 * std::numbers::pi_v<float> * static_cast<float>(index) / static_cast<float>(count) +
                        t * (0.4f + 0.2f * ring);
    const float radius = 3.0f + 1.5f * ring;
    const float yaw = t * (1.0f + 0.1f * static_cast<float>(index));
    return {{radius * std::cos(angle), radius * std::sin(angle), 0.5f + 0.25f * std::sin(2 * t + ring)},
            {std::cos(yaw / 2), 0, 0, std::sin(yaw / 2)}};
}

}  // namespace

DemoCubes::DemoCubes(Server& server, ReplicationChannels channels, std::size_t count, const std::string& log_path,
                     Timestamp now)
    : m_world(m_registry), m_replication(server, m_world,
                                         [&] {
                                             ReplicationConfig config;
                                             config.channels = channels;
                                             config.tick_rate = kTickRate;
                                             return config;
                                         }()),
      m_next_tick(now)
{
    for (std::size_t i = 0; i < count; ++i)
    {
        m_cubes.push_back(m_world.spawn({kServerId, Replication::everyone()}));
        m_world.set(m_cubes.back(), pose(i, count, 0));
    }
    if (!log_path.empty() && !(m_log = std::fopen(log_path.c_str(), "w")))
        std::fprintf(stderr, "eustress-server: --world-log: cannot write %s\n", log_path.c_str());
}

DemoCubes::~DemoCubes()
{
    if (m_log)
        std::fclose(m_log);
}

bool DemoCubes::handle(const NetworkEvent& event, Timestamp now)
{
    return m_replication.handle(event, now);
}

void DemoCubes::update(Timestamp now)
{
    if (now - m_next_tick > std::chrono::milliseconds(250))
        m_next_tick = now;
    while (now >= m_next_tick)
    {
        step(m_replication.current_tick() + 1);
        m_replication.tick(now);
        if (m_replication.current_tick() % kLogEvery == 0)
            log(m_replication.current_tick());
        m_next_tick += kTickInterval;
    }
}

void DemoCubes::step(Tick tick)
{
    for (std::size_t i = 0; i < m_cubes.size(); ++i)
        m_world.set(m_cubes[i], pose(i, m_cubes.size(), tick));
}

/// One line: {"tick":T,"entities":{"ID":[x,y,z,qw,qx,qy,qz],...}} (server entity ids, the values before
/// quantization).
void DemoCubes::log(Tick tick)
{
    if (!m_log)
        return;
    std::fprintf(m_log, "{\"tick\":%llu,\"entities\":{", static_cast<unsigned long long>(tick));
    for (std::size_t i = 0; i < m_cubes.size(); ++i)
    {
        const auto* transform = m_world.get<NetworkTransform>(m_cubes[i]);
        const Vec3& p = transform->position;
        const Quat& q = transform->rotation;
        std::fprintf(m_log, "%s\"%u\":[%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g]", i == 0 ? "" : ",",
                     static_cast<unsigned>(m_cubes[i]), p.x, p.y, p.z, q.w, q.x, q.y, q.z);
    }
    std::fprintf(m_log, "}}\n");
    std::fflush(m_log);
}

}  // namespace eustress::net::apps
