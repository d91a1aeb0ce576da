// The asset channel's messages (src/assets/asset_wire.hpp) and the peer asset channel's (src/assets/peer_wire.hpp):
// each parser on any bytes; whatever parses writes back to the same bytes, and a piece never claims bytes past its
// stated size.
//
// The seeds in corpus/asset_wire_fuzz were written by hand from the layouts in asset_wire.hpp and peer_wire.hpp, not
// by our writers: a request, a piece, a missing answer, a piece whose bytes run past its stated size; and for peers
// (peer_*) a have-list, one with padding bits set, a has-list, an offer, one whose name is a path, an answer.
#include <algorithm>
#include <cstdlib>

#include "assets/asset_wire.hpp"
#include "assets/peer_wire.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;

namespace {

void check_peer_message(Bytes bytes)
{
    const auto parsed = parse_peer_message(bytes);
    if (!parsed)
        return;
    if (parsed->kind == PeerMessageKind::Piece &&
        (parsed->offset + parsed->bytes.size() > parsed->stored_size || parsed->bytes.size() > kPeerPieceSize))
        std::abort();
    if (parsed->kind == PeerMessageKind::Offer && !is_plain_file_name(parsed->name))
        std::abort();
    const auto written = write_peer_message(*parsed);
    if (written.size() != bytes.size() || !std::equal(written.begin(), written.end(), bytes.begin()))
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
    check_peer_message(bytes);
    const auto parsed = parse_asset_message(bytes);
    if (!parsed)
        return 0;
    std::vector<std::byte> written;
    if (parsed->kind == AssetMessageKind::Piece)
    {
        if (parsed->offset + parsed->bytes.size() > parsed->stored_size || parsed->bytes.size() > kAssetPieceSize)
            std::abort();
        written = write_asset_piece(parsed->id, parsed->offset, parsed->stored_size, parsed->bytes);
    }
    else
        written = write_asset_request(parsed->kind, parsed->id);
    if (written.size() != size || !std::equal(written.begin(), written.end(), bytes.begin()))
        std::abort();
    return 0;
}
