// The bytes of one outgoing stream, from the oldest unacknowledged byte to the newest written. ngtcp2 sends
// stream data by reference and may resend any unacked range, so the bytes must stay put until acked: they live
// in fixed-size blocks that are never moved, and whole blocks are recycled once acknowledged.
#pragma once

#include <array>
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
    static constexpr std::size_t kBlockSize = 16 * 1024;
    using Block = std::array<std::byte, kBlockSize>;

    struct Chunk
    {
        const std::byte* data;
        std::size_t size;
    };

    void append(std::span<const std::byte> bytes);

    /// Up to `out.size()` contiguous chunks of the bytes not yet sent, in order.
    std::size_t unsent_chunks(std::span<Chunk> out) const noexcept;
    void mark_sent(std::uint64_t count) noexcept { m_sent += count; }
    /// The peer acknowledged everything below `offset` (stream offsets count from the stream's start).
    void acknowledge_to(std::uint64_t offset);
    /// Start sending again from the oldest unacknowledged byte (after 0-RTT data was rejected).
    void rewind_to_unacked() noexcept { m_sent = m_acked; }

    std::uint64_t written() const noexcept { return m_written; }
    std::uint64_t unsent() const noexcept { return m_written - m_sent; }
    std::uint64_t unacked() const noexcept { return m_written - m_acked; }

private:
    std::deque<std::unique_ptr<Block>> m_blocks;
    std::vector<std::unique_ptr<Block>> m_spare;   // recycled blocks, so steady traffic allocates nothing
    std::uint64_t m_base = 0;     // stream offset of m_blocks.front()->front()
    std::uint64_t m_written = 0;
    std::uint64_t m_sent = 0;
    std::uint64_t m_acked = 0;
};

}  // namespace eustress::net::transport
