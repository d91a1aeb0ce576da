// eustress-hostile: hostile traffic against a server on this machine, to prove the server keeps its players
// while it is attacked. Bounded in rate and time, and loopback only: it refuses any other target.
//
//   eustress-hostile --target 127.0.0.1:7777 --pin BASE64 --seconds 10 --rate 2000
//
// Each second, `rate` datagrams split across five kinds of abuse:
//   garbage     random bytes of random length from many source ports;
//   quic-junk   long- and short-header packets with valid-looking first bytes and random rest (unknown
//               connection ids: the server may answer with stateless resets, which are rate-limited);
//   flood       full-size (1,200 byte) Initial-shaped junk from 64 source ports, as a spoofing botnet would send;
//   half-open   real QUIC Initials from fresh clients that never complete the handshake;
//   replay      datagrams of one real session of ours (Initial, Handshake and 1-RTT packets), recorded and sent
//               again from their port and from others.
// Prints what it sent of each kind as one JSON object at the end.
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "eustress/net/client.hpp"

using namespace eustress::net;
using namespace std::chrono_literals;

namespace {

/// Passes datagrams through and keeps a copy of the first `capacity` sent, for replaying.
class RecordingSocket final : public DatagramSocket
{
  public:
    RecordingSocket(std::unique_ptr<DatagramSocket> inner, std::vector<std::vector<std::byte>>& record,
                    std::size_t capacity)
        : m_inner(std::move(inner)), m_record(record), m_capacity(capacity)
    {}
    SocketAddress local_address() const override { return m_inner->local_address(); }
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override
    {
        for (const auto& datagram : batch)
            if (m_record.size() < m_capacity)
                m_record.emplace_back(datagram.payload.begin(), datagram.payload.end());
        return m_inner->send(batch, now);
    }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override { return m_inner->receive(slots, now); }
    int native_handle() const override { return m_inner->native_handle(); }
    DatagramSocketStats stats() const override { return m_inner->stats(); }

  private:
    std::unique_ptr<DatagramSocket> m_inner;
    std::vector<std::vector<std::byte>>& m_record;
    std::size_t m_capacity;
};

bool is_loopback(const SocketAddress& address)
{
    const std::string text = address.to_string();
    return text.rfind("127.", 0) == 0 || text.rfind("[::1]", 0) == 0;
}

struct Counts
{
    std::uint64_t garbage = 0, quic_junk = 0, flood = 0, half_open = 0, replay = 0, send_failures = 0;
};

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-hostile: bounded hostile traffic against a server on this machine (loopback only)"};
    std::string target_text;
    std::string pin;
    double seconds = 10;
    double rate = 2000;
    double half_open_share = 0.05;
    app.add_option("--target", target_text, "server address, 127.0.0.1:PORT")->required();
    app.add_option("--pin", pin, "the server's key pin, for the recorded session that is replayed");
    app.add_option("--seconds", seconds, "how long to attack")->check(CLI::Range(0.1, 600.0));
    app.add_option("--rate", rate, "datagrams per second, all kinds together")->check(CLI::Range(1.0, 200000.0));
    app.add_option("--half-open-share", half_open_share, "fraction of the rate spent on real half-open handshakes")
        ->check(CLI::Range(0.0, 1.0));
    CLI11_PARSE(app, argc, argv);

    const auto target = SocketAddress::parse(target_text);
    if (!target || !is_loopback(*target))
    {
        std::fprintf(stderr, "eustress-hostile: the target must be a loopback address and port (got '%s')\n",
                     target_text.c_str());
        return 2;
    }
    const auto local = SocketAddress::parse("127.0.0.1", 0).value();
    std::vector<std::unique_ptr<DatagramSocket>> sources;
    for (int i = 0; i < 64; ++i)
        if (auto socket = open_udp_socket(local, UdpSocketOptions{1 << 20, 1 << 20, false}))
            sources.push_back(std::move(socket).value());
    if (sources.empty())
        return 1;

    // One real session, recorded for replay.
    std::vector<std::vector<std::byte>> recorded;
    ClientConfig config;
    config.server_host = "127.0.0.1";
    config.server_port = target->port();
    config.server_name = "localhost";
    config.bind_address = "127.0.0.1";
    config.reconnect.enabled = false;
    if (!pin.empty())
        config.pinned_keys = {pin};
    {
        auto raw = open_udp_socket(local);
        auto session = Client::create(config, std::make_unique<RecordingSocket>(std::move(raw).value(), recorded, 64),
                                      *target, MonotonicClock::now());
        if (session)
        {
            auto& client = *session.value();
            const Timestamp deadline = MonotonicClock::now() + 3s;
            while (!client.is_connected() && !client.is_disconnected() && MonotonicClock::now() < deadline)
            {
                client.update(MonotonicClock::now());
                std::this_thread::sleep_for(1ms);
            }
            for (int i = 0; i < 20 && client.is_connected(); ++i)
            {
                (void)client.send(i % 2, as_bytes_of("recorded for replay"), MonotonicClock::now());
                client.update(MonotonicClock::now());
                std::this_thread::sleep_for(5ms);
            }
            client.disconnect("done recording", MonotonicClock::now());
        }
    }

    std::mt19937_64 random(42);
    Counts counts;
    std::vector<std::byte> buffer(1500);
    std::vector<std::unique_ptr<Client>> half_open;
    auto send_from = [&](DatagramSocket& socket, std::span<const std::byte> payload) {
        const OutgoingDatagram datagram{*target, payload};
        if (socket.send({&datagram, 1}, MonotonicClock::now()) != 1)
            ++counts.send_failures;
    };
    auto fill_random = [&](std::size_t size) {
        for (std::size_t i = 0; i < size; ++i)
            buffer[i] = std::byte(random() & 0xff);
        return std::span<const std::byte>(buffer.data(), size);
    };

    const Timestamp start = MonotonicClock::now();
    const Timestamp end = start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
    const auto total = static_cast<std::uint64_t>(rate * seconds);
    const auto interval = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / rate));
    Timestamp next = start;
    for (std::uint64_t sent = 0; sent < total && MonotonicClock::now() < end; ++sent)
    {
        DatagramSocket& source = *sources[random() % sources.size()];
        const double pick = std::uniform_real_distribution<double>(0.0, 1.0)(random);
        if (pick < half_open_share)
        {
            // A real client's first flight, then silence: the server holds a half-open handshake (or answers with
            // a Retry, and never hears back).
            auto raw = open_udp_socket(local);
            if (raw)
                if (auto client = Client::create(config, std::move(raw).value(), *target, MonotonicClock::now()))
                {
                    half_open.push_back(std::move(client).value());
                    ++counts.half_open;
                }
            if (half_open.size() > 256)
                half_open.erase(half_open.begin());  // bounded: the oldest are forgotten, never answered
        }
        else if (pick < half_open_share + 0.2 && !recorded.empty())
        {
            const auto& datagram = recorded[random() % recorded.size()];
            send_from(source, datagram);
            ++counts.replay;
        }
        else if (pick < half_open_share + 0.4)
        {
            auto payload = fill_random(1 + random() % 1400);
            send_from(source, payload);
            ++counts.garbage;
        }
        else if (pick < half_open_share + 0.6)
        {
            auto payload = fill_random(40 + random() % 1160);
            buffer[0] = (random() & 1) ? std::byte{0xc3} : std::byte{0x43};  // long header Initial / short header
            if (buffer[0] == std::byte{0xc3})
            {
                buffer[1] = std::byte{0}, buffer[2] = std::byte{0}, buffer[3] = std::byte{0}, buffer[4] = std::byte{1};
                buffer[5] = std::byte{16};
            }
            send_from(source, payload);
            ++counts.quic_junk;
        }
        else
        {
            auto payload = fill_random(1200);
            buffer[0] = std::byte{0xc0};
            buffer[1] = std::byte{0}, buffer[2] = std::byte{0}, buffer[3] = std::byte{0}, buffer[4] = std::byte{1};
            buffer[5] = std::byte{8};
            send_from(source, payload);
            ++counts.flood;
        }
        next += interval;
        if (const auto ahead = next - MonotonicClock::now(); ahead > 1ms)
            std::this_thread::sleep_for(ahead);
    }
    std::printf("{\"garbage\": %llu, \"quic_junk\": %llu, \"flood\": %llu, \"half_open\": %llu, \"replay\": %llu, "
                "\"recorded\": %zu, \"send_failures\": %llu, \"seconds\": %.2f}\n",
                static_cast<unsigned long long>(counts.garbage), static_cast<unsigned long long>(counts.quic_junk),
                static_cast<unsigned long long>(counts.flood), static_cast<unsigned long long>(counts.half_open),
                static_cast<unsigned long long>(counts.replay), recorded.size(),
                static_cast<unsigned long long>(counts.send_failures),
                std::chrono::duration<double>(MonotonicClock::now() - start).count());
    return 0;
}
