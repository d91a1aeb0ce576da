// Template part of wire_format.hpp.
#pragma once

#include "wire/byte_reader.hpp"

namespace eustress::net::session {

template <typename IsSequenced>
std::optional<ParsedDatagram> parse_datagram(Bytes bytes, IsSequenced&& channel_is_sequenced) noexcept
{
    wire::ByteReader reader(bytes);
    const auto first = reader.read_u8();
    if (!first)
        return std::nullopt;
    ParsedDatagram parsed;
    parsed.header.channel = static_cast<ChannelId>(*first & 0x3f);
    parsed.header.fragmented = (*first & 0x80) != 0;
    if ((*first & 0x40) != 0)
        return std::nullopt;  // reserved bit: a future version we do not speak
    const std::optional<bool> sequenced = channel_is_sequenced(parsed.header.channel);
    if (!sequenced)
        return std::nullopt;
    parsed.header.sequenced = *sequenced;
    if (parsed.header.sequenced)
    {
        const auto sequence = reader.read_u16();
        if (!sequence)
            return std::nullopt;
        parsed.header.sequence = *sequence;
    }
    if (parsed.header.fragmented)
    {
        const auto group = reader.read_u16();
        const auto index = reader.read_u8();
        const auto count = reader.read_u8();
        if (!group || !index || !count || *count < 2 || *index >= *count)
            return std::nullopt;
        parsed.header.fragment_group = *group;
        parsed.header.fragment_index = *index;
        parsed.header.fragment_count = *count;
    }
    parsed.payload = reader.rest();
    return parsed;
}

template <typename Visit> bool for_each_bundled(Bytes bundle, Visit&& visit) noexcept
{
    if (!is_bundle(bundle))
        return false;
    wire::ByteReader reader(bundle.subspan(1));
    std::size_t records = 0;
    while (reader.remaining() > 0)
    {
        const auto length = reader.read_varint();
        if (!length || *length == 0 || *length > reader.remaining())
            return false;
        if (!visit(*reader.read_bytes(static_cast<std::size_t>(*length))))
            return false;
        ++records;
    }
    return records >= 2;
}

}  // namespace eustress::net::session
