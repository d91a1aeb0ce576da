// The bytes of one outgoing stream, from the oldest unacknowledged byte to the newest written. ngtcp2 sends
// stream data by reference and may resend any unacked range, so the bytes must stay put until acked: they live
// in blocks that are never moved. Blocks start small and double up to 16 KiB, so a stream that carries a few
// small messages costs little, and a block is freed as soon as all its bytes are acknowledged, so an idle
// connection holds no send memory at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

namespace eustress::net::transport {

class StreamSendBuffer
{
  public:
    static constexpr std::size_t kMinBlockSize = 256;
    static constexpr std::size_t kMaxBlockSize = 16 * 1024;

    struct Chunk
    {
        const std::byte* data;
        std::size_t size;
    };

    void append(std::span<const std::byte> bytes);

    /// Up to `out.size()` contiguous chunks of the bytes not yet sent, in order.
    std::size_t unsent_chunks(std::span<Chunk> out) const noexcept;
    void mark_sent(std::uint64_t count) noexcept;
    /// The peer acknowledged everything below `offset` (stream offsets count from the stream's start).
    void acknowledge_to(std::uint64_t offset);
    /// Start sending again from the oldest unacknowledged byte (after 0-RTT data was rejected).
    void rewind_to_unacked() noexcept
    {
        m_sent = m_acked;
        m_first_unsent_block = 0;
    }

    std::uint64_t written() const noexcept { return m_written; }
    std::uint64_t unsent() const noexcept { return m_written - m_sent; }
    std::uint64_t unacked() const noexcept { return m_written - m_acked; }
    /// Bytes of block memory held, for tests and memory accounting.
    std::size_t capacity() const noexcept;

  private:
    struct Block
    {
        std::unique_ptr<std::byte[]> bytes;
        std::size_t capacity = 0;
        std::size_t used = 0;
        std::uint64_t offset = 0;  // stream offset of bytes[0]
    };

    Block take_block(std::size_t capacity);

    std::deque<Block> m_blocks;
    /// Blocks before this index in `m_blocks` hold only sent bytes: the scan for unsent bytes starts here, so a
    /// write pass costs the same whether one block or a thousand wait for their acknowledgement.
    std::size_t m_first_unsent_block = 0;
    std::vector<Block> m_spare;  // recycled full-size blocks, so steady bulk traffic allocates nothing
    std::size_t m_next_capacity = kMinBlockSize;
    std::uint64_t m_written = 0;
    std::uint64_t m_sent = 0;
    std::uint64_t m_acked = 0;
};

}  // namespace eustress::net::transport
