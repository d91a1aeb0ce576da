// Chunk names: BLAKE2b-256 (libsodium's crypto_generichash) of a chunk's raw bytes, written as 64 hex digits.
#include <sodium.h>

#include "eustress/net/assets.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net::assets {

std::string ChunkId::to_hex() const
{
    std::string hex(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
    hex.pop_back();
    return hex;
}

std::optional<ChunkId> ChunkId::from_hex(std::string_view hex)
{
    ChunkId id;
    if (hex.size() != id.bytes.size() * 2)
        return std::nullopt;
    std::size_t written = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(id.bytes.data(), id.bytes.size(), hex.data(), hex.size(), nullptr, &written, &end) != 0 ||
        written != id.bytes.size() || end != hex.data() + hex.size())
        return std::nullopt;
    return id;
}

ChunkId hash_chunk(Bytes raw)
{
    security::ensure_sodium_initialized();
    ChunkId id;
    crypto_generichash(id.bytes.data(), id.bytes.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                       nullptr, 0);
    return id;
}

std::string chunk_path(const ChunkId& id)
{
    const std::string hex = id.to_hex();
    return "chunks/" + hex.substr(0, 2) + "/" + hex;
}

}  // namespace eustress::net::assets
