#include "measurements.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace eustress::net::apps {
namespace {

// Every measurement message: 0x01 'm' KIND, then the kind's fields (host byte order: both ends run this program).
constexpr std::byte kMarker{0x01};
constexpr std::byte kMagic{'m'};
constexpr std::byte kPing{'p'};      // u32 sequence, u64 send time (ns), padding to the ping's size
constexpr std::byte kPong{'q'};      // the ping's bytes
constexpr std::byte kBulk{'b'};      // u64 total bytes of the transfer, then data
constexpr std::byte kBulkDone{'d'};  // u64 bytes received, u64 first to last message (ns)
constexpr std::size_t kHeader = 3;
constexpr std::size_t kMinPingSize = kHeader + 4 + 8;
constexpr std::size_t kMaxPingSize = 64 * 1024;
constexpr std::size_t kBulkMessage = 16 * 1024;
constexpr std::uint64_t kMaxBulkMib = 1024;

unsigned long long id_of(ClientId id)
{
    return static_cast<unsigned long long>(id);
}

double milliseconds(Duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> values, double p)
{
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

std::vector<std::byte> message_of(std::byte kind, std::size_t size)
{
    std::vector<std::byte> message(std::max(size, kHeader));
    message[0] = kMarker;
    message[1] = kMagic;
    message[2] = kind;
    return message;
}

template <typename T> void put(std::vector<std::byte>& message, std::size_t offset, T value)
{
    std::memcpy(message.data() + offset, &value, sizeof value);
}

template <typename T> std::optional<T> get(const std::vector<std::byte>& message, std::size_t offset)
{
    if (message.size() < offset + sizeof(T))
        return std::nullopt;
    T value;
    std::memcpy(&value, message.data() + offset, sizeof value);
    return value;
}

/// The MB/s (10^6 bytes) of `bytes` over `elapsed`.
double rate(std::uint64_t bytes, Duration elapsed)
{
    const double seconds = std::chrono::duration<double>(elapsed).count();
    return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0;
}

}  // namespace

bool Measurements::command(const std::string& line, Timestamp now)
{
    const bool ping = line.starts_with("/ping ");
    const bool bulk = line.starts_with("/bulk ");
    if (!ping && !bulk)
        return false;
    std::istringstream words(line.substr(6));
    unsigned long long peer = 0;
    unsigned long long amount = 0;
    std::size_t size = 64;
    const bool parsed = static_cast<bool>(words >> peer >> amount);
    if (std::size_t given = 0; ping && words >> given)
        size = given;
    if (!parsed || amount == 0)
    {
        std::printf("usage: /ping ID COUNT [SIZE] or /bulk ID MIB\n");
        return true;
    }
    if (ping)
    {
        if (size < kMinPingSize || size > kMaxPingSize || amount > 1'000'000)
        {
            std::printf("ping: SIZE %zu to %zu bytes, at most 1,000,000 round trips\n", kMinPingSize, kMaxPingSize);
            return true;
        }
        m_ping = Ping{ClientId{peer}, static_cast<std::uint32_t>(amount), size, 0, {}, {}};
        send_ping(now);
        return true;
    }
    if (amount > kMaxBulkMib)
    {
        std::printf("bulk: at most %llu MiB\n", static_cast<unsigned long long>(kMaxBulkMib));
        return true;
    }
    m_bulk_out = BulkOut{ClientId{peer}, amount * 1024 * 1024, 0, MonotonicClock::now()};
    pump(now);
    return true;
}

bool Measurements::send(ClientId peer, const std::vector<std::byte>& message, Timestamp now)
{
    auto sent = m_mesh.send(peer, m_channel, message, now);
    if (!sent)
        return false;
    m_sent = true;
    return true;
}

void Measurements::send_ping(Timestamp now)
{
    auto& ping = *m_ping;
    ++ping.sequence;
    auto message = message_of(kPing, ping.size);
    ping.sent_at = MonotonicClock::now();
    put(message, kHeader, ping.sequence);
    put(message, kHeader + 4, static_cast<std::uint64_t>(ping.sent_at.time_since_epoch().count()));
    if (auto sent = m_mesh.send(ping.peer, m_channel, message, now); !sent)
    {
        std::printf("ping peer %llu: not sent: %s\n", id_of(ping.peer), sent.error().message.c_str());
        m_ping.reset();
        return;
    }
    m_sent = true;
}

bool Measurements::on_message(const PeerMessageEvent& message, Timestamp now)
{
    const auto& data = message.data;
    if (data.size() < kHeader || data[0] != kMarker || data[1] != kMagic)
        return false;
    const Timestamp arrived = MonotonicClock::now();
    const std::byte kind = data[2];
    if (kind == kPing)
    {
        auto echo = data;
        echo[2] = kPong;
        (void)send(message.peer, echo, now);
    }
    else if (kind == kPong && m_ping && message.peer == m_ping->peer &&
             get<std::uint32_t>(data, kHeader) == m_ping->sequence)
    {
        auto& ping = *m_ping;
        ping.rtt_ms.push_back(milliseconds(arrived - ping.sent_at));
        if (ping.rtt_ms.size() < ping.count)
        {
            send_ping(now);
            return true;
        }
        std::printf("ping peer %llu: %zu round trips of %zu bytes, rtt ms median %.3f p95 %.3f min %.3f max %.3f\n",
                    id_of(ping.peer), ping.rtt_ms.size(), ping.size, percentile(ping.rtt_ms, 0.5),
                    percentile(ping.rtt_ms, 0.95), *std::min_element(ping.rtt_ms.begin(), ping.rtt_ms.end()),
                    *std::max_element(ping.rtt_ms.begin(), ping.rtt_ms.end()));
        m_ping.reset();
    }
    else if (kind == kBulk)
    {
        const auto total = get<std::uint64_t>(data, kHeader);
        if (!total)
            return true;
        auto& in = m_bulk_in[message.peer];
        if (in.received == 0)
            in = BulkIn{*total, 0, arrived};
        in.received += data.size() - kHeader - sizeof(std::uint64_t);
        if (in.received < in.total)
            return true;
        const Duration elapsed = arrived - in.first;
        std::printf("bulk from peer %llu: %.2f MiB in %.1f ms, %.2f MB/s (first to last message)\n",
                    id_of(message.peer), static_cast<double>(in.received) / (1024 * 1024), milliseconds(elapsed),
                    rate(in.received, elapsed));
        auto done = message_of(kBulkDone, kHeader + 16);
        put(done, kHeader, in.received);
        put(done, kHeader + 8, static_cast<std::uint64_t>(std::chrono::nanoseconds(elapsed).count()));
        (void)send(message.peer, done, now);
        m_bulk_in.erase(message.peer);
    }
    else if (kind == kBulkDone && m_bulk_out && message.peer == m_bulk_out->peer)
    {
        const auto bytes = get<std::uint64_t>(data, kHeader).value_or(0);
        const Duration elapsed = arrived - m_bulk_out->started;
        std::printf("bulk to peer %llu: %.2f MiB in %.1f ms, %.2f MB/s (first message handed to the receiver's "
                    "answer)\n",
                    id_of(message.peer), static_cast<double>(bytes) / (1024 * 1024), milliseconds(elapsed),
                    rate(bytes, elapsed));
        m_bulk_out.reset();
    }
    return true;
}

void Measurements::pump(Timestamp now)
{
    if (!m_bulk_out || m_bulk_out->handed >= m_bulk_out->total)
        return;
    auto& out = *m_bulk_out;
    auto message = message_of(kBulk, kBulkMessage);
    put(message, kHeader, out.total);
    const std::size_t payload = kBulkMessage - kHeader - sizeof(std::uint64_t);
    while (out.handed < out.total)
    {
        const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(payload, out.total - out.handed));
        message.resize(kHeader + sizeof(std::uint64_t) + size);
        auto sent = m_mesh.send(out.peer, m_channel, message, now);
        if (!sent)
        {
            if (sent.error().code == ErrorCode::QueueFull)
                return;  // the session is behind: more once it has sent some (the loop wakes on its acks)
            std::printf("bulk to peer %llu: stopped after %llu bytes: %s\n", id_of(out.peer),
                        static_cast<unsigned long long>(out.handed), sent.error().message.c_str());
            m_bulk_out.reset();
            return;
        }
        m_sent = true;
        out.handed += size;
    }
}

}  // namespace eustress::net::apps
