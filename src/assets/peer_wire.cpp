#include "assets/peer_wire.hpp"

#include <cstring>

namespace eustress::net::assets {
namespace {

class Writer
{
  public:
    explicit Writer(PeerMessageKind kind) { m_bytes.push_back(static_cast<std::byte>(kind)); }
    void bytes(Bytes data) { m_bytes.insert(m_bytes.end(), data.begin(), data.end()); }
    void id(const ChunkId& id) { bytes(Bytes(reinterpret_cast<const std::byte*>(id.bytes.data()), id.bytes.size())); }
    void uint(std::uint64_t value, int width)
    {
        for (int i = 0; i < width; ++i)
            m_bytes.push_back(static_cast<std::byte>(value >> (8 * i)));
    }
    std::vector<std::byte> take() { return std::move(m_bytes); }

  private:
    std::vector<std::byte> m_bytes;
};

/// Reads fields in order; any read past the end makes `ok` false and every later read a zero.
class Reader
{
  public:
    explicit Reader(Bytes data) : m_data(data) {}
    bool ok = true;
    std::size_t left() const { return m_data.size() - m_at; }
    Bytes bytes(std::size_t count)
    {
        if (!ok || count > left())
        {
            ok = false;
            return {};
        }
        const Bytes taken = m_data.subspan(m_at, count);
        m_at += count;
        return taken;
    }
    std::uint64_t uint(int width)
    {
        const Bytes taken = bytes(static_cast<std::size_t>(width));
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < taken.size(); ++i)
            value |= static_cast<std::uint64_t>(taken[i]) << (8 * i);
        return value;
    }
    ChunkId id()
    {
        ChunkId id;
        const Bytes taken = bytes(id.bytes.size());
        if (!taken.empty())
            std::memcpy(id.bytes.data(), taken.data(), taken.size());
        return id;
    }

  private:
    Bytes m_data;
    std::size_t m_at = 0;
};

bool read_piece(Reader& in, PeerMessage& out)
{
    out.offset = static_cast<std::uint32_t>(in.uint(4));
    out.stored_size = static_cast<std::uint32_t>(in.uint(4));
    out.bytes = in.bytes(in.left());
    return in.ok && out.bytes.size() <= kPeerPieceSize && out.offset <= out.stored_size &&
           out.bytes.size() <= out.stored_size - out.offset && out.stored_size <= kMaxChunkSize + 1;
}

bool read_have(Reader& in, PeerMessage& out)
{
    const auto count = in.uint(4);
    if (!in.ok || count > kMaxPeerSetChunks || in.left() != (count + 7) / 8)
        return false;
    const Bytes bits = in.bytes(in.left());
    out.have.resize(count);
    for (std::size_t i = 0; i < count; ++i)
        out.have[i] = (static_cast<unsigned>(bits[i / 8]) >> (i % 8)) & 1u;
    // Padding bits past the count must be zero, so one set of flags has one encoding.
    return count % 8 == 0 || (static_cast<unsigned>(bits.back()) >> (count % 8)) == 0;
}

bool read_has(Reader& in, PeerMessage& out)
{
    const auto count = in.uint(4);
    if (!in.ok || count > kMaxPeerHasIndices || in.left() != count * 4)
        return false;
    out.indices.resize(count);
    for (auto& index : out.indices)
        index = static_cast<std::uint32_t>(in.uint(4));
    return in.ok;
}

bool read_offer(Reader& in, PeerMessage& out)
{
    out.offer = static_cast<std::uint32_t>(in.uint(4));
    out.size = in.uint(8);
    const Bytes name = in.bytes(in.uint(2));
    out.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
    const auto count = in.uint(4);
    if (!in.ok || !is_plain_file_name(out.name) || count > kMaxOfferChunks || in.left() != count * 40)
        return false;
    out.chunks.resize(count);
    for (auto& chunk : out.chunks)
    {
        chunk.id = in.id();
        chunk.size = static_cast<std::uint32_t>(in.uint(4));
        chunk.stored_size = static_cast<std::uint32_t>(in.uint(4));
    }
    return in.ok;
}

}  // namespace

bool is_plain_file_name(std::string_view name)
{
    if (name.empty() || name.size() > kMaxOfferName || name == "." || name == "..")
        return false;
    for (const char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return false;
    return true;
}

std::vector<std::byte> write_peer_chunk_message(PeerMessageKind kind, const ChunkId& id)
{
    Writer out(kind);
    out.id(id);
    return out.take();
}

std::vector<std::byte> write_peer_piece(const ChunkId& id, std::uint32_t offset, std::uint32_t stored_size, Bytes bytes)
{
    Writer out(PeerMessageKind::Piece);
    out.id(id);
    out.uint(offset, 4);
    out.uint(stored_size, 4);
    out.bytes(bytes);
    return out.take();
}

std::vector<std::byte> write_peer_have(const ChunkId& set_key, const std::vector<bool>& have)
{
    Writer out(PeerMessageKind::Have);
    out.id(set_key);
    out.uint(have.size(), 4);
    std::vector<std::byte> bits((have.size() + 7) / 8);
    for (std::size_t i = 0; i < have.size(); ++i)
        if (have[i])
            bits[i / 8] |= static_cast<std::byte>(1u << (i % 8));
    out.bytes(bits);
    return out.take();
}

std::vector<std::byte> write_peer_has(const ChunkId& set_key, const std::vector<std::uint32_t>& indices)
{
    Writer out(PeerMessageKind::Has);
    out.id(set_key);
    out.uint(indices.size(), 4);
    for (const auto index : indices)
        out.uint(index, 4);
    return out.take();
}

std::vector<std::byte> write_peer_offer(std::uint32_t offer, std::uint64_t size, const std::string& name,
                                        const std::vector<OfferedChunk>& chunks)
{
    Writer out(PeerMessageKind::Offer);
    out.uint(offer, 4);
    out.uint(size, 8);
    out.uint(name.size(), 2);
    out.bytes(as_bytes_of(name));
    out.uint(chunks.size(), 4);
    for (const auto& chunk : chunks)
    {
        out.id(chunk.id);
        out.uint(chunk.size, 4);
        out.uint(chunk.stored_size, 4);
    }
    return out.take();
}

std::vector<std::byte> write_peer_answer(std::uint32_t offer, bool accepted)
{
    Writer out(PeerMessageKind::Answer);
    out.uint(offer, 4);
    out.uint(accepted ? 1 : 0, 1);
    return out.take();
}

std::vector<std::byte> write_peer_message(const PeerMessage& message)
{
    switch (message.kind)
    {
    case PeerMessageKind::Piece:
        return write_peer_piece(message.id, message.offset, message.stored_size, message.bytes);
    case PeerMessageKind::Have:
        return write_peer_have(message.id, message.have);
    case PeerMessageKind::Has:
        return write_peer_has(message.id, message.indices);
    case PeerMessageKind::Offer:
        return write_peer_offer(message.offer, message.size, message.name, message.chunks);
    case PeerMessageKind::Answer:
        return write_peer_answer(message.offer, message.accepted);
    default:
        return write_peer_chunk_message(message.kind, message.id);
    }
}

std::optional<PeerMessage> parse_peer_message(Bytes message)
{
    if (message.empty() || message.size() > kMaxPeerMessage)
        return std::nullopt;
    Reader in(message.subspan(1));
    PeerMessage out;
    out.kind = static_cast<PeerMessageKind>(message[0]);
    bool ok = false;
    switch (out.kind)
    {
    case PeerMessageKind::Request:
    case PeerMessageKind::Missing:
        out.id = in.id();
        ok = in.ok && in.left() == 0;
        break;
    case PeerMessageKind::Piece:
        out.id = in.id();
        ok = read_piece(in, out);
        break;
    case PeerMessageKind::Have:
        out.id = in.id();
        ok = read_have(in, out);
        break;
    case PeerMessageKind::Has:
        out.id = in.id();
        ok = read_has(in, out);
        break;
    case PeerMessageKind::Offer:
        ok = read_offer(in, out);
        break;
    case PeerMessageKind::Answer:
        out.offer = static_cast<std::uint32_t>(in.uint(4));
        out.accepted = in.uint(1) == 1;
        ok = in.ok && in.left() == 0 && static_cast<unsigned>(message.back()) <= 1;
        break;
    }
    if (!ok)
        return std::nullopt;
    return out;
}

}  // namespace eustress::net::assets
