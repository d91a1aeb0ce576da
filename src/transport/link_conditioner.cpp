// Held datagrams wait in a queue ordered by delivery time; every call on the socket first releases the ones due.
// Random draws happen in a fixed order per datagram (loss, duplication, then per copy jitter and reordering), so
// a seed and a sequence of sends at given times always produce the same deliveries.
#include "eustress/net/link_conditioner.hpp"

#include <algorithm>
#include <queue>
#include <random>
#include <vector>

namespace eustress::net {

struct LinkConditioner::Impl
{
    struct Held
    {
        Timestamp due;
        std::uint64_t order;   // ties keep send order
        SocketAddress to;
        std::vector<std::byte> bytes;
    };
    struct Later
    {
        bool operator()(const Held& a, const Held& b) const
        {
            return a.due != b.due ? a.due > b.due : a.order > b.order;
        }
    };

    std::unique_ptr<DatagramSocket> inner;
    LinkConditionerConfig config;
    std::mt19937_64 random;
    std::priority_queue<Held, std::vector<Held>, Later> held;
    std::size_t held_bytes = 0;
    std::uint64_t next_order = 0;
    Timestamp link_free_at{};
    LinkConditionerStats stats;
    std::vector<std::vector<std::byte>> spare;   // recycled buffers: no allocation per packet once warm

    double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(random); }

    void hold(const OutgoingDatagram& datagram, Timestamp now)
    {
        Timestamp departure = now;
        if (config.bandwidth_bytes_per_second > 0)
        {
            // A serialising link: each datagram waits for the previous one to leave, then occupies the wire.
            departure = std::max(now, link_free_at);
            link_free_at = departure + Duration(static_cast<Duration::rep>(
                                           1e9 * static_cast<double>(datagram.payload.size()) /
                                           static_cast<double>(config.bandwidth_bytes_per_second)));
            departure = link_free_at;
        }
        Duration delay = config.latency;
        if (config.jitter.count() > 0)
            delay += Duration(static_cast<Duration::rep>(uniform() * static_cast<double>(config.jitter.count())));
        if (config.reordering > 0.0 && uniform() < config.reordering)
        {
            delay += config.reorder_delay;
            ++stats.reordered;
        }
        std::vector<std::byte> bytes;
        if (!spare.empty())
        {
            bytes = std::move(spare.back());
            spare.pop_back();
        }
        bytes.assign(datagram.payload.begin(), datagram.payload.end());
        held_bytes += bytes.size();
        held.push(Held{departure + delay, next_order++, datagram.to, std::move(bytes)});
    }

    void release(Timestamp now)
    {
        while (!held.empty() && held.top().due <= now)
        {
            Held next = std::move(const_cast<Held&>(held.top()));
            held.pop();
            held_bytes -= next.bytes.size();
            const OutgoingDatagram datagram{next.to, next.bytes};
            inner->send(std::span(&datagram, 1), now);
            ++stats.delivered;
            if (spare.size() < 256)
                spare.push_back(std::move(next.bytes));
        }
    }
};

LinkConditioner::LinkConditioner(std::unique_ptr<DatagramSocket> inner, const LinkConditionerConfig& config)
    : m_impl(std::make_unique<Impl>())
{
    m_impl->inner = std::move(inner);
    set_config(config);
}

LinkConditioner::~LinkConditioner() = default;

SocketAddress LinkConditioner::local_address() const { return m_impl->inner->local_address(); }

std::size_t LinkConditioner::send(std::span<const OutgoingDatagram> batch, Timestamp now)
{
    auto& self = *m_impl;
    self.release(now);
    if (self.config.is_passthrough() && self.held.empty())
        return self.inner->send(batch, now);
    for (const auto& datagram : batch)
    {
        if (self.config.loss > 0.0 && self.uniform() < self.config.loss)
        {
            ++self.stats.dropped_loss;
            continue;
        }
        const bool duplicate = self.config.duplication > 0.0 && self.uniform() < self.config.duplication;
        for (int copy = 0; copy < (duplicate ? 2 : 1); ++copy)
        {
            if (self.held_bytes + datagram.payload.size() > self.config.queue_limit_bytes)
            {
                ++self.stats.dropped_queue_full;
                continue;
            }
            self.hold(datagram, now);
            if (copy == 1)
                ++self.stats.duplicated;
        }
    }
    self.release(now);
    return batch.size();
}

std::size_t LinkConditioner::receive(std::span<ReceiveSlot> slots, Timestamp now)
{
    m_impl->release(now);
    return m_impl->inner->receive(slots, now);
}

std::optional<Timestamp> LinkConditioner::next_wakeup() const
{
    std::optional<Timestamp> earliest = m_impl->inner->next_wakeup();
    if (!m_impl->held.empty())
        earliest = earliest ? std::min(*earliest, m_impl->held.top().due) : m_impl->held.top().due;
    return earliest;
}

int LinkConditioner::native_handle() const { return m_impl->inner->native_handle(); }
DatagramSocketStats LinkConditioner::stats() const { return m_impl->inner->stats(); }
void LinkConditioner::flush(Timestamp now) { m_impl->release(now); }

void LinkConditioner::set_config(const LinkConditionerConfig& config)
{
    m_impl->config = config;
    m_impl->random.seed(config.seed);
}

const LinkConditionerConfig& LinkConditioner::config() const noexcept { return m_impl->config; }
LinkConditionerStats LinkConditioner::conditioner_stats() const noexcept { return m_impl->stats; }
DatagramSocket& LinkConditioner::inner() noexcept { return *m_impl->inner; }

}  // namespace eustress::net
