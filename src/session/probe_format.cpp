#include "session/probe_format.hpp"

#include <algorithm>

#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::session {
namespace {

constexpr std::uint8_t kProbeMarker = 0x40;  // bit 6; bits 0-5 carry the kind, bit 7 must stay clear

}  // namespace

bool is_probe_datagram(Bytes datagram) noexcept
{
    return !datagram.empty() && (std::to_integer<std::uint8_t>(datagram[0]) & kProbeMarker) != 0;
}

std::size_t write_probe(const ProbeHeader& header, std::size_t size, MutableBytes out) noexcept
{
    if (size < kProbeHeaderSize || size > out.size())
        return 0;
    wire::ByteWriter writer(out);
    if (!writer.write_u8(static_cast<std::uint8_t>(kProbeMarker | static_cast<std::uint8_t>(header.kind))) ||
        !writer.write_u32(header.id) || !writer.write_u64(header.echo) || !writer.write_u16(header.size))
        return 0;
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(writer.size()), out.begin() + static_cast<std::ptrdiff_t>(size),
              std::byte{0});
    return size;
}

std::optional<ProbeHeader> parse_probe(Bytes datagram) noexcept
{
    wire::ByteReader reader(datagram);
    const auto first = reader.read_u8();
    const auto id = reader.read_u32();
    const auto echo = reader.read_u64();
    const auto size = reader.read_u16();
    if (!first || !id || !echo || !size)
        return std::nullopt;
    ProbeHeader header;
    if (*first == (kProbeMarker | static_cast<std::uint8_t>(ProbeKind::Request)))
        header.kind = ProbeKind::Request;
    else if (*first == (kProbeMarker | static_cast<std::uint8_t>(ProbeKind::Answer)))
        header.kind = ProbeKind::Answer;
    else
        return std::nullopt;  // bit 7 set, or a kind we do not speak
    header.id = *id;
    header.echo = *echo;
    header.size = *size;
    if (header.kind == ProbeKind::Answer && datagram.size() > header.size)
        return std::nullopt;  // an answer larger than its probe is one no server of ours would send
    return header;
}

}  // namespace eustress::net::session
