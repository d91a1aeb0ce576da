#include "transport/stream_send_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace eustress::net::transport {

void StreamSendBuffer::append(std::span<const std::byte> bytes)
{
    while (!bytes.empty())
    {
        const std::size_t used_in_tail = static_cast<std::size_t>((m_written - m_base) % kBlockSize);
        const bool tail_full = m_blocks.empty() || (used_in_tail == 0 && m_written > m_base);
        if (tail_full)
        {
            if (m_spare.empty())
                m_blocks.push_back(std::make_unique<Block>());
            else
            {
                m_blocks.push_back(std::move(m_spare.back()));
                m_spare.pop_back();
            }
        }
        const std::size_t offset_in_tail = tail_full ? 0 : used_in_tail;
        const std::size_t count = std::min(bytes.size(), kBlockSize - offset_in_tail);
        std::memcpy(m_blocks.back()->data() + offset_in_tail, bytes.data(), count);
        m_written += count;
        bytes = bytes.subspan(count);
    }
}

std::size_t StreamSendBuffer::unsent_chunks(std::span<Chunk> out) const noexcept
{
    std::size_t produced = 0;
    std::uint64_t position = m_sent;
    while (produced < out.size() && position < m_written)
    {
        const auto block_index = static_cast<std::size_t>((position - m_base) / kBlockSize);
        const auto offset = static_cast<std::size_t>((position - m_base) % kBlockSize);
        const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(kBlockSize - offset, m_written - position));
        out[produced++] = Chunk{m_blocks[block_index]->data() + offset, size};
        position += size;
    }
    return produced;
}

void StreamSendBuffer::acknowledge_to(std::uint64_t offset)
{
    m_acked = std::max(m_acked, std::min(offset, m_written));
    while (!m_blocks.empty() && m_acked >= m_base + kBlockSize)
    {
        constexpr std::size_t kSpareBlocksKept = 8;
        if (m_spare.size() < kSpareBlocksKept)
            m_spare.push_back(std::move(m_blocks.front()));
        m_blocks.pop_front();
        m_base += kBlockSize;
    }
}

}  // namespace eustress::net::transport
