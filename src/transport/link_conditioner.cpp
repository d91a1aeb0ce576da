// Held datagrams wait in a min-heap ordered by (delivery time, send order); every call on the socket first hands
// the due ones to the wrapped socket. Payloads live in buffers recycled through a free list, so once the link has
// carried its peak load nothing is allocated per datagram.
//
// Determinism: the random generator is our own (xoshiro256**), because the std distributions are allowed to
// differ between standard libraries and a seed must mean the same network everywhere. Each datagram consumes
// exactly six draws in a fixed order (loss, duplication, then jitter and reordering for each of two possible
// copies) whether or not they matter, so a datagram's fate depends only on the seed and its position in the
// sequence: raising the loss rate drops more datagrams but leaves the delays of the survivors as they were.
#include "eustress/net/link_conditioner.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <vector>

#include "base/splitmix64.hpp"

namespace eustress::net {
namespace {

/// Uniform in [0, 1), from the top 53 bits (all a double holds).
double unit(std::uint64_t word) noexcept
{
    return static_cast<double>(word >> 11) * 0x1.0p-53;
}

/// xoshiro256** by Blackman and Vigna (public domain), seeded through splitmix64 as its authors recommend.
class Random
{
  public:
    void seed(std::uint64_t seed) noexcept
    {
        for (auto& word : m_state)
        {
            word = splitmix64_next(seed);
        }
    }

    std::uint64_t next() noexcept
    {
        const std::uint64_t result = rotate(m_state[1] * 5, 7) * 9;
        const std::uint64_t t = m_state[1] << 17;
        m_state[2] ^= m_state[0];
        m_state[3] ^= m_state[1];
        m_state[1] ^= m_state[2];
        m_state[0] ^= m_state[3];
        m_state[2] ^= t;
        m_state[3] = rotate(m_state[3], 45);
        return result;
    }

    double uniform() noexcept { return unit(next()); }

  private:
    static std::uint64_t rotate(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

    std::array<std::uint64_t, 4> m_state{};
};

/// The end of the stall that `t` falls in, if any (LinkConditionerConfig::stall_period). Each period's stall is
/// drawn from the seed and the period's index alone, so the answer for a time never changes.
std::optional<Timestamp> stall_end(const LinkConditionerConfig& config, Timestamp t) noexcept
{
    const Duration::rep period = config.stall_period.count();
    if (period <= 0)
        return std::nullopt;
    const Duration::rep since = t.time_since_epoch().count(), slot = since / period;
    const Duration::rep shortest = config.stall_shortest.count();
    const Duration::rep spread = std::max<Duration::rep>(config.stall_longest.count() - shortest, 0);
    // A stall starting in an earlier period may reach into this one.
    const Duration::rep reach = (shortest + spread) / period + 1;
    for (Duration::rep index = slot; index >= 0 && index >= slot - reach; --index)
    {
        const std::uint64_t draw =
            splitmix64_mix(config.stall_seed ^ splitmix64_mix(static_cast<std::uint64_t>(index)));
        const Duration::rep start = index * period + static_cast<Duration::rep>(unit(draw) * double(period));
        const Duration::rep end =
            start + shortest + static_cast<Duration::rep>(unit(splitmix64_mix(draw)) * double(spread));
        if (start <= since && since < end)
            return timestamp_from(Duration(end));
    }
    return std::nullopt;
}

/// Handing due datagrams to the wrapped socket in batches keeps sendmmsg/GSO working underneath.
constexpr std::size_t kReleaseBatch = 64;

}  // namespace

struct LinkConditioner::Impl
{
    struct Held
    {
        Timestamp due;
        std::uint64_t order;  ///< send order, so equal delivery times keep it
        SocketAddress to;
        std::uint32_t buffer;  ///< index into `buffers`
    };

    std::unique_ptr<DatagramSocket> inner;
    LinkConditionerConfig config;
    Random random;
    std::vector<Held> held;                       ///< a heap whose front is the next delivery
    std::vector<std::vector<std::byte>> buffers;  ///< payloads of held datagrams
    std::vector<std::uint32_t> free_buffers;
    std::size_t held_bytes = 0;
    std::uint64_t next_order = 0;
    Timestamp link_free_at{};  ///< when the serialising link finishes its current datagram
    LinkConditionerStats stats;
    std::vector<OutgoingDatagram> due;  ///< staging for one batch handed to `inner`
    std::vector<std::uint32_t> due_buffers;

    /// Heap order: `std::*_heap` keep the greatest first, so "greater" is the later delivery.
    static bool later(const Held& a, const Held& b) noexcept
    {
        return a.due != b.due ? a.due > b.due : a.order > b.order;
    }

    Duration jitter_for(double draw) const noexcept
    {
        if (config.jitter.count() <= 0)
            return Duration{0};
        // uniform over [0, jitter] inclusive: draw < 1, so the product stays below jitter + 1
        return Duration(static_cast<Duration::rep>(draw * static_cast<double>(config.jitter.count() + 1)));
    }

    Duration transmission_time(std::size_t bytes) const noexcept
    {
        // Rounded up, so the link never runs faster than configured.
        const std::uint64_t rate = config.bandwidth_bytes_per_second;
        return Duration(static_cast<Duration::rep>((bytes * 1'000'000'000ull + rate - 1) / rate));
    }

    void condition(const OutgoingDatagram& datagram, Timestamp now)
    {
        const double loss_draw = random.uniform();
        const double duplicate_draw = random.uniform();
        std::array<double, 4> copy_draws{};  // jitter, reordering; jitter, reordering
        for (auto& draw : copy_draws)
            draw = random.uniform();

        // A lost datagram vanishes before the bottleneck and takes no share of it.
        if (loss_draw < config.loss)
        {
            ++stats.dropped_loss;
            return;
        }
        const int copies = duplicate_draw < config.duplication ? 2 : 1;
        const std::size_t size = datagram.payload.size();
        for (int copy = 0; copy < copies; ++copy)
        {
            if (held_bytes + size > config.queue_limit_bytes)
            {
                ++stats.dropped_queue_full;
                continue;
            }
            // A stalled host sends what it was asked to once it runs again.
            const std::optional<Timestamp> stalled = stall_end(config, now);
            stats.stalled_sends += stalled ? 1 : 0;
            Timestamp departure = stalled.value_or(now);
            if (config.bandwidth_bytes_per_second > 0)
            {
                // A serialising link: a datagram starts once the previous one has left and occupies the wire
                // for size / rate; it is on its way when its last byte is.
                link_free_at = std::max(departure, link_free_at) + transmission_time(size);
                departure = link_free_at;
            }
            Duration delay = config.latency + jitter_for(copy_draws[2 * copy]);
            if (copy_draws[2 * copy + 1] < config.reordering)
            {
                delay += config.reorder_delay;
                ++stats.reordered;
            }
            hold(datagram, departure + delay);
            if (copy == 1)
                ++stats.duplicated;
        }
    }

    void hold(const OutgoingDatagram& datagram, Timestamp due_at)
    {
        std::uint32_t buffer = 0;
        if (!free_buffers.empty())
        {
            buffer = free_buffers.back();
            free_buffers.pop_back();
        }
        else
        {
            buffer = static_cast<std::uint32_t>(buffers.size());
            buffers.emplace_back();
        }
        buffers[buffer].assign(datagram.payload.begin(), datagram.payload.end());  // reuses capacity
        held_bytes += datagram.payload.size();
        held.push_back(Held{due_at, next_order++, datagram.to, buffer});
        std::push_heap(held.begin(), held.end(), later);
    }

    void release(Timestamp now)
    {
        while (!held.empty() && held.front().due <= now)
        {
            std::pop_heap(held.begin(), held.end(), later);
            const Held& next = held.back();
            due.push_back(OutgoingDatagram{next.to, buffers[next.buffer]});
            due_buffers.push_back(next.buffer);
            held.pop_back();
            if (due.size() == kReleaseBatch)
                hand_over(now);
        }
        hand_over(now);
    }

    void hand_over(Timestamp now)
    {
        if (due.empty())
            return;
        // What the wrapped socket does not take (its buffer is full) is lost, as on a congested host.
        stats.delivered += inner->send(due, now);
        for (const std::uint32_t buffer : due_buffers)
        {
            held_bytes -= buffers[buffer].size();
            free_buffers.push_back(buffer);
        }
        due.clear();
        due_buffers.clear();
    }
};

LinkConditioner::LinkConditioner(std::unique_ptr<DatagramSocket> inner, const LinkConditionerConfig& config)
    : m_impl(std::make_unique<Impl>())
{
    if (!inner)
        throw std::invalid_argument("LinkConditioner needs a socket to wrap");
    m_impl->inner = std::move(inner);
    m_impl->due.reserve(kReleaseBatch);
    m_impl->due_buffers.reserve(kReleaseBatch);
    set_config(config);
}

LinkConditioner::~LinkConditioner() = default;

SocketAddress LinkConditioner::local_address() const
{
    return m_impl->inner->local_address();
}

std::size_t LinkConditioner::send(std::span<const OutgoingDatagram> batch, Timestamp now)
{
    Impl& self = *m_impl;
    self.release(now);
    if (self.config.is_passthrough() && self.held.empty())
    {
        // Nothing to impair and nothing held that these would overtake: no copy, no random draws.
        const std::size_t taken = self.inner->send(batch, now);
        self.stats.delivered += taken;
        return taken;
    }
    for (const auto& datagram : batch)
        self.condition(datagram, now);
    self.release(now);  // zero-delay datagrams go at once
    return batch.size();
}

std::size_t LinkConditioner::receive(std::span<ReceiveSlot> slots, Timestamp now)
{
    m_impl->release(now);
    // A stalled host reads nothing: what arrives waits in the socket's buffer until it runs again.
    if (stall_end(m_impl->config, now))
    {
        ++m_impl->stats.stalled_receives;
        return 0;
    }
    return m_impl->inner->receive(slots, now);
}

std::optional<Timestamp> LinkConditioner::next_wakeup() const
{
    std::optional<Timestamp> earliest = m_impl->inner->next_wakeup();
    if (!m_impl->held.empty())
        earliest = earliest ? std::min(*earliest, m_impl->held.front().due) : m_impl->held.front().due;
    return earliest;
}

int LinkConditioner::native_handle() const
{
    return m_impl->inner->native_handle();
}
DatagramSocketStats LinkConditioner::stats() const
{
    return m_impl->inner->stats();
}
void LinkConditioner::flush(Timestamp now)
{
    m_impl->release(now);
}

void LinkConditioner::set_config(const LinkConditionerConfig& config)
{
    m_impl->config = config;
    m_impl->random.seed(config.seed);
}

const LinkConditionerConfig& LinkConditioner::config() const noexcept
{
    return m_impl->config;
}
LinkConditionerStats LinkConditioner::conditioner_stats() const noexcept
{
    return m_impl->stats;
}
DatagramSocket& LinkConditioner::inner() noexcept
{
    return *m_impl->inner;
}

}  // namespace eustress::net
