// The asset channel's messages (src/assets/asset_wire.hpp): the parser on any bytes; whatever parses writes back to
// the same bytes, and a piece never claims bytes past its stated size.
//
// The seeds in corpus/asset_wire_fuzz were written by hand from the layout in asset_wire.hpp, not by our writer: a
// request, a piece, a missing answer, and a piece whose bytes run past its stated size.
#include <algorithm>
#include <cstdlib>

#include "assets/asset_wire.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
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
