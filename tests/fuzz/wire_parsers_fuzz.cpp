// Every small parser of ours: varints, stream headers, control frames, probes, SPKI pins, QUIC routing headers and
// connect tokens.
#include <string_view>

#include "eustress/net/certificate.hpp"
#include "eustress/net/connect_token.hpp"
#include "eustress/net/socket_address.hpp"
#include "session/probe_format.hpp"
#include "session/wire_format.hpp"
#include "transport/quic_connection.hpp"
#include "wire/byte_reader.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
    wire::ByteReader reader(bytes);
    while (reader.read_varint())
    {}
    (void)session::parse_stream_header(bytes);
    (void)session::parse_hello(bytes);
    (void)session::parse_welcome(bytes);
    (void)session::parse_probe(bytes);
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto pin = SpkiPin::parse(text))
        (void)SpkiPin::parse(pin->to_base64());
    (void)SocketAddress::parse(text);
    (void)transport::QuicConnection::route(bytes);
    static const ConnectTokenKey key{};  // all zeros: a fuzzer can only forge against a key it cannot know anyway
    (void)open_connect_token(bytes, key, 0);
    (void)ConnectTokenKey::from_base64(text);
    std::array<std::byte, 1500> out{};
    (void)transport::QuicConnection::write_version_negotiation(bytes, out);
    return 0;
}
