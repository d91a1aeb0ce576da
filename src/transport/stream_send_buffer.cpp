#include "transport/stream_send_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace eustress::net::transport {

StreamSendBuffer::Block StreamSendBuffer::take_block(std::size_t capacity)
{
    if (capacity == kMaxBlockSize && !m_spare.empty())
    {
        Block block = std::move(m_spare.back());
        m_spare.pop_back();
        block.used = 0;
        return block;
    }
    // Not zero-filled: every byte is written by `append` before it is read, and filling would cost one more pass
    // over everything a bulk sender sends.
    return Block{std::make_unique_for_overwrite<std::byte[]>(capacity), capacity, 0, 0};
}

void StreamSendBuffer::append(std::span<const std::byte> bytes)
{
    while (!bytes.empty())
    {
        if (m_blocks.empty() || m_blocks.back().used == m_blocks.back().capacity)
        {
            // Grow towards the larger of what this write needs and double the last block, within bounds.
            std::size_t capacity = std::max(m_next_capacity, kMinBlockSize);
            while (capacity < bytes.size() && capacity < kMaxBlockSize)
                capacity *= 2;
            capacity = std::min(capacity, kMaxBlockSize);
            m_next_capacity = std::min(capacity * 2, kMaxBlockSize);
            Block block = take_block(capacity);
            block.offset = m_written;
            m_blocks.push_back(std::move(block));
        }
        Block& tail = m_blocks.back();
        const std::size_t count = std::min(bytes.size(), tail.capacity - tail.used);
        std::memcpy(tail.bytes.get() + tail.used, bytes.data(), count);
        tail.used += count;
        m_written += count;
        bytes = bytes.subspan(count);
    }
}

std::size_t StreamSendBuffer::unsent_chunks(std::span<Chunk> out) const noexcept
{
    std::size_t produced = 0;
    for (auto block_at = m_blocks.begin() + static_cast<std::ptrdiff_t>(m_first_unsent_block);
         block_at != m_blocks.end() && produced < out.size(); ++block_at)
    {
        const Block& block = *block_at;
        const std::uint64_t end = block.offset + block.used;
        if (end <= m_sent)
            continue;
        const auto start = static_cast<std::size_t>(std::max(m_sent, block.offset) - block.offset);
        out[produced++] = Chunk{block.bytes.get() + start, block.used - start};
    }
    return produced;
}

void StreamSendBuffer::mark_sent(std::uint64_t count) noexcept
{
    m_sent += count;
    // A full block whose bytes have all been sent is never offered again; a block still filling may grow.
    const auto fully_sent = [&](const Block& block) {
        return block.used == block.capacity && block.offset + block.used <= m_sent;
    };
    while (m_first_unsent_block < m_blocks.size() && fully_sent(m_blocks[m_first_unsent_block]))
        ++m_first_unsent_block;
}

void StreamSendBuffer::acknowledge_to(std::uint64_t offset)
{
    m_acked = std::max(m_acked, std::min(offset, m_written));
    while (!m_blocks.empty() && m_blocks.front().offset + m_blocks.front().used <= m_acked &&
           (m_blocks.front().used == m_blocks.front().capacity || m_blocks.size() == 1))
    {
        constexpr std::size_t kSpareBlocksKept = 4;
        if (m_blocks.front().capacity == kMaxBlockSize && m_spare.size() < kSpareBlocksKept && m_blocks.size() > 1)
            m_spare.push_back(std::move(m_blocks.front()));
        m_blocks.pop_front();
        if (m_first_unsent_block > 0)
            --m_first_unsent_block;
    }
    if (m_blocks.empty())
        m_next_capacity = kMinBlockSize;  // idle again: the next burst starts small
}

std::size_t StreamSendBuffer::capacity() const noexcept
{
    std::size_t total = 0;
    for (const Block& block : m_blocks)
        total += block.capacity;
    for (const Block& block : m_spare)
        total += block.capacity;
    return total;
}

}  // namespace eustress::net::transport
