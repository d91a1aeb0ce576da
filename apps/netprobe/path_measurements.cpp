#include "path_measurements.hpp"

#include <algorithm>
#include <unordered_set>

#include "event_loop.hpp"
#include "verdicts.hpp"

namespace eustress::net::netprobe {
namespace {

constexpr std::size_t kRoundTripProbeSize = 64;
constexpr int kProbesPerSize = 5;  // at 20% loss, five unanswered probes of a size that passes: 0.03%
/// Full-size probes outstanding during the throughput run: what the congestion window holds, within bounds. More
/// would wait in the datagram queue until they go stale (and count as lost); fewer would starve a fast path.
constexpr std::size_t kMinThroughputWindow = 8;
constexpr std::size_t kMaxThroughputWindow = 512;  // 600 KB: 47 Mbit/s at 100 ms

Duration seconds(double value)
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

}  // namespace

bool ClientPump::run_until(Timestamp deadline, const std::function<bool()>& done,
                           const std::function<void(const ProbeEvent&)>& on_probe)
{
    for (;;)
    {
        const Timestamp now = MonotonicClock::now();
        m_client.update(now);
        while (auto event = m_client.poll_event())
        {
            if (std::holds_alternative<ConnectedEvent>(*event))
                m_connected = true;
            else if (auto* gone = std::get_if<DisconnectedEvent>(&*event))
            {
                m_disconnected = true;
                m_disconnect_reason = gone->reason;
            }
            else if (auto* probe = std::get_if<ProbeEvent>(&*event); probe && on_probe)
                on_probe(*probe);
        }
        if (done())
            return true;
        if (now >= deadline || m_disconnected)
            return false;
        pollfd descriptor{m_client.native_handle(), POLLIN, 0};
        apps::wait_for_io(std::span(&descriptor, 1), std::min(deadline, m_client.next_wakeup()),
                          std::chrono::milliseconds(1));
    }
}

void ClientPump::forget_previous_connection()
{
    while (m_client.poll_event())
    {}
    m_connected = false;
    m_disconnected = false;
    m_disconnect_reason.clear();
}

double RoundTrips::loss() const
{
    return sent == 0 ? 0.0 : 1.0 - static_cast<double>(answered) / static_cast<double>(sent);
}

double RoundTrips::upstream_loss() const
{
    const std::size_t settled = delivered + lost;
    return settled == 0 ? 0.0 : static_cast<double>(lost) / static_cast<double>(settled);
}

double RoundTrips::downstream_loss() const
{
    if (delivered == 0)
        return 0.0;
    return std::clamp(1.0 - static_cast<double>(answered) / static_cast<double>(delivered), 0.0, 1.0);
}

Duration RoundTrips::quantile(double q) const
{
    if (samples.empty())
        return Duration{0};
    std::vector<Duration> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    const auto index = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(index, sorted.size() - 1)];
}

RoundTrips measure_round_trips(ClientPump& pump, Duration length, double rate_hz)
{
    RoundTrips result;
    std::unordered_set<std::uint32_t> ours;
    const auto on_probe = [&](const ProbeEvent& event) {
        if (!ours.count(event.probe))
            return;
        switch (event.outcome)
        {
        case ProbeEvent::Outcome::Answered:
            ++result.answered;
            result.samples.push_back(event.round_trip);
            break;
        case ProbeEvent::Outcome::Delivered:
            ++result.delivered;
            break;
        case ProbeEvent::Outcome::Lost:
            ++result.lost;
            break;
        }
    };
    const Duration interval = seconds(1.0 / rate_hz);
    const Timestamp start = MonotonicClock::now();
    const Timestamp end = start + length;
    Timestamp next_send = start;
    pump.run_until(
        end,
        [&] {
            const Timestamp now = MonotonicClock::now();
            if (now >= next_send && now < end)
            {
                if (auto id = pump.client().send_probe(kRoundTripProbeSize, kRoundTripProbeSize, now))
                {
                    ours.insert(id.value());
                    ++result.sent;
                }
                pump.client().flush(now);
                next_send += interval;
            }
            return false;
        },
        on_probe);
    // Late answers: four of the slowest round trips seen, at least 300 ms (a first sample can be slow), at most 2 s.
    const Duration slowest = result.samples.empty() ? Duration{0} : result.quantile(1.0);
    const Duration grace = std::clamp<Duration>(slowest * 4, std::chrono::milliseconds(300), std::chrono::seconds(2));
    pump.run_until(
        MonotonicClock::now() + grace,
        [&] { return result.answered == result.sent && result.delivered + result.lost == result.sent; }, on_probe);
    return result;
}

LargestDatagram measure_largest_datagram(ClientPump& pump, Duration wait)
{
    LargestDatagram result;
    const auto status = pump.client().status(MonotonicClock::now());
    result.limit = status.max_datagram_payload;
    // Unreliable messages are sized to QUIC's 1,200-byte floor, also where path MTU discovery has raised the size
    // of stream packets (status.max_udp_payload): the floor is the UDP payload that carries `limit`.
    result.udp_limit = std::min(status.max_udp_payload, thresholds::kQuicMinimumUdpPayload);
    std::vector<std::size_t> sizes;
    for (std::size_t size : {256u, 512u, 1024u, 1100u})
        if (size < result.limit)
            sizes.push_back(size);
    sizes.push_back(result.limit);
    for (const std::size_t size : sizes)
    {
        std::unordered_set<std::uint32_t> ours;
        bool answered = false;
        const Timestamp now = MonotonicClock::now();
        for (int i = 0; i < kProbesPerSize; ++i)
            if (auto id = pump.client().send_probe(size, size, now))
                ours.insert(id.value());
        pump.client().flush(now);
        pump.run_until(
            now + wait, [&] { return answered; },
            [&](const ProbeEvent& event) {
                answered = answered || (event.outcome == ProbeEvent::Outcome::Answered && ours.count(event.probe) &&
                                        event.size == size);
            });
        if (!answered)
        {
            result.first_failed = size;
            break;
        }
        result.largest_answered = size;
    }
    return result;
}

double Throughput::bytes_per_second() const
{
    const double elapsed_seconds = std::chrono::duration<double>(elapsed).count();
    return elapsed_seconds > 0 ? static_cast<double>(delivered_bytes) / elapsed_seconds : 0.0;
}

Throughput measure_upstream_throughput(ClientPump& pump, Duration length)
{
    Throughput result;
    std::unordered_set<std::uint32_t> ours;
    std::size_t sent = 0;
    const std::size_t size = pump.client().status(MonotonicClock::now()).max_datagram_payload;
    const Timestamp start = MonotonicClock::now();
    const Timestamp end = start + length;
    Timestamp last_settled = start;
    const auto on_probe = [&](const ProbeEvent& event) {
        if (!ours.count(event.probe))
            return;
        last_settled = MonotonicClock::now();
        if (event.outcome == ProbeEvent::Outcome::Delivered)
        {
            ++result.delivered;
            result.delivered_bytes += event.size;
        }
        else if (event.outcome == ProbeEvent::Outcome::Lost)
            ++result.lost;
    };
    const auto outstanding = [&] {
        return sent - (result.delivered + result.lost);
    };
    pump.run_until(
        end,
        [&] {
            const Timestamp now = MonotonicClock::now();
            const std::size_t window =
                std::clamp<std::size_t>(pump.client().status(now).congestion_window / std::max<std::size_t>(size, 1),
                                        kMinThroughputWindow, kMaxThroughputWindow);
            while (now < end && outstanding() < window)
            {
                auto id = pump.client().send_probe(size, 0, now);
                if (!id)
                    break;
                ours.insert(id.value());
                ++sent;
            }
            pump.client().flush(now);
            return false;
        },
        on_probe);
    // ACKs for the last flight (and any a lost packet delayed) still count, within a bound.
    pump.run_until(
        MonotonicClock::now() + std::chrono::milliseconds(500), [&] { return outstanding() == 0; }, on_probe);
    result.elapsed = std::max(last_settled, end) - start;
    return result;
}

}  // namespace eustress::net::netprobe
