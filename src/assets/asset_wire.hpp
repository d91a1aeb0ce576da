// The asset channel's messages (game server source). A request names a chunk; the answer carries the chunk's stored
// bytes in pieces of at most kAssetPieceSize, so the channel's bandwidth share paces them instead of letting one
// 64 KiB message out in a burst that queues gameplay behind it on a slow line; or it says the server lacks it.
//     request  [1][32-byte chunk name]
//     piece    [2][32-byte chunk name][u32 offset][u32 stored size][bytes]     little-endian
//     missing  [3][32-byte chunk name]
#pragma once

#include <optional>
#include <vector>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {

inline constexpr std::size_t kAssetPieceSize = 4096;
inline constexpr std::size_t kAssetPieceHeader = 1 + 32 + 4 + 4;

enum class AssetMessageKind : std::uint8_t
{
    Request = 1,
    Piece = 2,
    Missing = 3,
};

struct AssetMessage
{
    AssetMessageKind kind;
    ChunkId id;
    std::uint32_t offset = 0;       ///< Piece: where its bytes go in the stored chunk
    std::uint32_t stored_size = 0;  ///< Piece: the whole stored chunk's size, as the server has it
    Bytes bytes;                    ///< Piece: a view into the parsed message
};

std::vector<std::byte> write_asset_request(AssetMessageKind kind, const ChunkId& id);
std::vector<std::byte> write_asset_piece(const ChunkId& id, std::uint32_t offset, std::uint32_t stored_size,
                                         Bytes bytes);
/// None for anything malformed: too short, an unknown kind, trailing bytes, a piece past its stated size.
std::optional<AssetMessage> parse_asset_message(Bytes message);

}  // namespace eustress::net::assets
