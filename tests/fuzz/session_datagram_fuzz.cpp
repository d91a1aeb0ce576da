// Hostile DATAGRAM payloads into a live connection's receive path: header parsing, bundles, sequencing,
// reassembly, and connection probes (as a client reads answers and as a server reads requests).
#include <deque>

#include "session/connection.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ChannelTable table = ChannelTable::defaults();
    std::deque<NetworkEvent> events;
    session::Connection::Settings settings;
    settings.channels = &table;
    session::Connection connection(settings, events);
    static const ProbeLimits probe_limits;
    session::Connection::Settings server_settings = settings;
    server_settings.role = session::Connection::Role::Server;
    server_settings.probe_limits = &probe_limits;
    session::Connection server(server_settings, events);
    // The input is a sequence of datagrams, each prefixed by one length byte, so one input can drive reassembly.
    std::size_t offset = 0;
    Timestamp now{};
    while (offset < size)
    {
        const std::size_t length = std::min<std::size_t>(data[offset], size - offset - 1);
        ++offset;
        const Bytes datagram(reinterpret_cast<const std::byte*>(data + offset), length);
        connection.on_datagram(datagram, false, now);
        server.on_datagram(datagram, false, now);
        offset += length;
        now += std::chrono::milliseconds(100);
    }
    return 0;
}
