// The peer asset channel's messages (mesh sessions, docs/ASSETS.md "Peers"): chunk requests and answers as on the
// game server's channel, but in larger pieces (a peer session carries no gameplay to pace around), what a peer
// holds of a release (a bitfield, then the indices that verify later), and file-share offers and answers.
//     request  [1][32-byte chunk name]
//     piece    [2][32-byte chunk name][u32 offset][u32 stored size][bytes, at most kPeerPieceSize]
//     missing  [3][32-byte chunk name]
//     have     [4][32-byte set key][u32 chunk count][bitfield, ceil(count / 8) bytes, bit i of byte i/8 low first]
//     has      [5][32-byte set key][u32 n][n x u32 index]
//     offer    [6][u32 offer][u64 size][u16 name length][name][u32 n][n x (32-byte name, u32 size, u32 stored)]
//     answer   [7][u32 offer][u8 1 accepted, 0 refused]
// Little-endian. A set key names a release (hash of its publisher and name) so both ends index the same chunks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {

inline constexpr std::size_t kPeerPieceSize = 16 * 1024;
inline constexpr std::size_t kPeerPieceHeader = 1 + 32 + 4 + 4;
/// Bounds every count a peer may claim, before anything is allocated for it.
inline constexpr std::uint32_t kMaxPeerSetChunks = 4'000'000;
inline constexpr std::uint32_t kMaxPeerHasIndices = 65'536;
inline constexpr std::uint32_t kMaxOfferChunks = 20'000;
inline constexpr std::size_t kMaxOfferName = 255;
/// The largest message: an offer of kMaxOfferChunks, or a have of kMaxPeerSetChunks.
inline constexpr std::size_t kMaxPeerMessage = 1 + 4 + 8 + 2 + kMaxOfferName + 4 + kMaxOfferChunks * 40;

enum class PeerMessageKind : std::uint8_t
{
    Request = 1,
    Piece = 2,
    Missing = 3,
    Have = 4,
    Has = 5,
    Offer = 6,
    Answer = 7,
};

struct OfferedChunk
{
    ChunkId id;
    std::uint32_t size = 0;
    std::uint32_t stored_size = 0;
    bool operator==(const OfferedChunk&) const = default;
};

struct PeerMessage
{
    PeerMessageKind kind = PeerMessageKind::Request;
    ChunkId id;                          ///< Request, Piece, Missing: the chunk; Have, Has: the set key
    std::uint32_t offset = 0;            ///< Piece
    std::uint32_t stored_size = 0;       ///< Piece
    Bytes bytes;                         ///< Piece: a view into the parsed message
    std::vector<bool> have;              ///< Have: one flag per chunk of the set
    std::vector<std::uint32_t> indices;  ///< Has
    std::uint32_t offer = 0;             ///< Offer, Answer
    std::uint64_t size = 0;              ///< Offer: the file's size
    std::string name;                    ///< Offer
    std::vector<OfferedChunk> chunks;    ///< Offer
    bool accepted = false;               ///< Answer
};

std::vector<std::byte> write_peer_chunk_message(PeerMessageKind kind, const ChunkId& id);
std::vector<std::byte> write_peer_piece(const ChunkId& id, std::uint32_t offset, std::uint32_t stored_size,
                                        Bytes bytes);
std::vector<std::byte> write_peer_have(const ChunkId& set_key, const std::vector<bool>& have);
std::vector<std::byte> write_peer_has(const ChunkId& set_key, const std::vector<std::uint32_t>& indices);
std::vector<std::byte> write_peer_offer(std::uint32_t offer, std::uint64_t size, const std::string& name,
                                        const std::vector<OfferedChunk>& chunks);
std::vector<std::byte> write_peer_answer(std::uint32_t offer, bool accepted);
/// Whatever parsed, written again: the same bytes (the fuzz target checks it).
std::vector<std::byte> write_peer_message(const PeerMessage& message);

/// None for anything malformed: too short, an unknown kind, trailing bytes, counts past the bounds above, a piece
/// past its stated size, padding bits set in a bitfield, an offer whose name is not a plain file name.
std::optional<PeerMessage> parse_peer_message(Bytes message);

/// A plain file name: 1..kMaxOfferName printable bytes, no '/', '\', "." or "..".
bool is_plain_file_name(std::string_view name);

}  // namespace eustress::net::assets
