// Whole datagrams from a stranger into a running server (over the in-memory network): routing, Initial
// acceptance, version negotiation, and the bounds on pending handshakes.
#include <filesystem>

#include "eustress/net/memory_network.hpp"
#include "eustress/net/server.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static MemoryNetwork network;
    static const SocketAddress server_address = *SocketAddress::parse("10.0.0.1:443");
    static std::unique_ptr<DatagramSocket> stranger =
        std::move(network.bind(*SocketAddress::parse("10.0.0.66:9"))).value();
    static Timestamp now = timestamp_from(std::chrono::seconds(1));
    static std::unique_ptr<Server> server = [] {
        ServerConfig config;
        config.max_pending_handshakes = 8;
        config.development_certificate_directory = std::filesystem::temp_directory_path() / "eustress-fuzz-certs";
        return std::move(Server::create(config, std::move(network.bind(server_address)).value(), now)).value();
    }();
    if (size > kMaxDatagramSize)
        return 0;
    const OutgoingDatagram datagram{server_address, Bytes(reinterpret_cast<const std::byte*>(data), size)};
    stranger->send(std::span(&datagram, 1), now);
    now += std::chrono::milliseconds(50);
    server->update(now);
    std::array<ReceiveSlot, 8> replies;
    while (stranger->receive(replies, now) > 0)
    {}
    return 0;
}
