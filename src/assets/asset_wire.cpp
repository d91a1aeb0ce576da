#include "assets/asset_wire.hpp"

#include <cstring>

namespace eustress::net::assets {
namespace {

void put_u32(std::byte* out, std::uint32_t value)
{
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<std::byte>(value >> (8 * i));
}

std::uint32_t get_u32(const std::byte* in)
{
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
        value |= static_cast<std::uint32_t>(in[i]) << (8 * i);
    return value;
}

}  // namespace

std::vector<std::byte> write_asset_request(AssetMessageKind kind, const ChunkId& id)
{
    std::vector<std::byte> message(1 + id.bytes.size());
    message[0] = static_cast<std::byte>(kind);
    std::memcpy(message.data() + 1, id.bytes.data(), id.bytes.size());
    return message;
}

std::vector<std::byte> write_asset_piece(const ChunkId& id, std::uint32_t offset, std::uint32_t stored_size,
                                         Bytes bytes)
{
    std::vector<std::byte> message(kAssetPieceHeader + bytes.size());
    message[0] = static_cast<std::byte>(AssetMessageKind::Piece);
    std::memcpy(message.data() + 1, id.bytes.data(), id.bytes.size());
    put_u32(message.data() + 33, offset);
    put_u32(message.data() + 37, stored_size);
    if (!bytes.empty())
        std::memcpy(message.data() + kAssetPieceHeader, bytes.data(), bytes.size());
    return message;
}

std::optional<AssetMessage> parse_asset_message(Bytes message)
{
    constexpr std::size_t kHeader = 1 + 32;
    if (message.size() < kHeader)
        return std::nullopt;
    AssetMessage parsed{static_cast<AssetMessageKind>(message[0]), {}, 0, 0, {}};
    std::memcpy(parsed.id.bytes.data(), message.data() + 1, parsed.id.bytes.size());
    switch (parsed.kind)
    {
    case AssetMessageKind::Request:
    case AssetMessageKind::Missing:
        if (message.size() != kHeader)
            return std::nullopt;
        return parsed;
    case AssetMessageKind::Piece:
        if (message.size() < kAssetPieceHeader || message.size() > kAssetPieceHeader + kAssetPieceSize)
            return std::nullopt;
        parsed.offset = get_u32(message.data() + 33);
        parsed.stored_size = get_u32(message.data() + 37);
        parsed.bytes = message.subspan(kAssetPieceHeader);
        if (parsed.offset > parsed.stored_size || parsed.bytes.size() > parsed.stored_size - parsed.offset)
            return std::nullopt;
        return parsed;
    }
    return std::nullopt;
}

}  // namespace eustress::net::assets
