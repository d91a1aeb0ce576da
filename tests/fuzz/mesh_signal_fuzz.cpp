// The mesh's parsers: signalling messages (from players to the server and back), relay headers, and path
// heartbeats mixed into a peer session's datagrams. Whatever decodes must encode back to the same bytes.
#include <cstdlib>
#include <cstring>

#include "p2p/peer_path.hpp"
#include "p2p/signal_format.hpp"

using namespace eustress::net;

namespace {

// Hands the fuzzer's bytes to a PeerPath as one received datagram.
class OneDatagram final : public p2p::PathEndpoint
{
  public:
    explicit OneDatagram(Bytes bytes) : m_bytes(bytes) {}
    PeerPathKind kind() const override { return PeerPathKind::Direct; }
    bool usable() const override { return true; }
    bool heartbeats() const override { return true; }
    bool send(Bytes, Timestamp) override { return true; }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        if (m_done || slots.empty() || m_bytes.size() > kMaxDatagramSize)
            return 0;
        m_done = true;
        std::memcpy(slots[0].buffer.data(), m_bytes.data(), m_bytes.size());
        slots[0].size = m_bytes.size();
        return 1;
    }

  private:
    Bytes m_bytes;
    bool m_done = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
    if (auto signal = p2p::decode_signal(bytes))
    {
        const auto encoded = p2p::encode_signal(*signal);
        if (encoded.size() != size || std::memcmp(encoded.data(), data, size) != 0)
            std::abort();  // a message that decodes must encode to the same bytes
    }
    if (auto relay = p2p::decode_relay(bytes))
        if (relay->payload.size() + p2p::kRelayHeaderSize != size)
            std::abort();
    p2p::PeerPath path(ClientId{1}, {});
    path.set_endpoint(p2p::PathSlot::Primary, std::make_unique<OneDatagram>(bytes));
    std::array<ReceiveSlot, 2> slots;
    (void)path.receive(slots, p2p::peer_session_address(ClientId{1}), Timestamp{});
    return 0;
}
