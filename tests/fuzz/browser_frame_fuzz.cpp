// Hostile browser-session frames (kBrowserSessionProtocol): the codec alone, then a server-side peer fed a run of
// frames (each chunk: one length byte, then the frame), admitted halfway so both before- and after-welcome rules run.
#include <deque>

#include "session/browser_peer.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ChannelTable table = ChannelTable::defaults();
    static const RateLimits limits{};
    const Bytes input(reinterpret_cast<const std::byte*>(data), size);
    (void)session::parse_browser_frame(input, table);

    std::deque<NetworkEvent> events;
    std::size_t sent = 0;
    session::BrowserPeer::Settings settings;
    settings.channels = &table;
    settings.rate_limits = &limits;
    settings.send_frame = [&sent](Bytes frame) {
        sent += frame.size();
    };
    session::BrowserPeer peer(std::move(settings), SocketAddress{}, Timestamp{});
    std::size_t offset = 0;
    for (int round = 0; offset < size && !peer.protocol_error(); ++round)
    {
        const std::size_t declared = data[offset++];
        const std::size_t length = std::min(declared, size - offset);
        peer.on_frame(input.subspan(offset, length), events, Timestamp{});
        offset += length;
        if (peer.take_hello() || round == 2)
            peer.admit(ClientId{1}, Timestamp{});
    }
    return 0;
}
