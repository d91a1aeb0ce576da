#include "session/datagram_bundle.hpp"

#include <algorithm>

#include "session/wire_format.hpp"
#include "wire/varint.hpp"

namespace eustress::net::session {

bool DatagramBundle::fits(std::size_t size, std::size_t capacity) const noexcept
{
    const std::size_t used = empty() ? 1 : m_size;  // an empty bundle still needs its marker
    return used + bundle_record_size(size) <= std::min(capacity, m_bytes.size());
}

MutableBytes DatagramBundle::append(std::size_t size, SentMessage message, Timestamp now)
{
    if (empty())
    {
        m_bytes[0] = std::byte{kBundleMarker};
        m_size = 1;
        m_opened = now;
    }
    const std::size_t prefix = wire::varint_size(size);
    const std::size_t start = m_size;
    m_size = start + prefix + size;
    wire::encode_varint(size, MutableBytes(m_bytes).subspan(start, prefix));
    if (empty())
    {
        m_first_begin = start + prefix;
        m_first_end = m_first_begin + size;
    }
    m_messages.push_back(message);
    return MutableBytes(m_bytes).subspan(start + prefix, size);
}

Bytes DatagramBundle::datagram() const noexcept
{
    if (m_messages.size() == 1)
        return Bytes(m_bytes).subspan(m_first_begin, m_first_end - m_first_begin);
    return Bytes(m_bytes).first(m_size);
}

std::vector<SentMessage> DatagramBundle::take(std::vector<SentMessage> spare)
{
    spare.clear();
    std::swap(spare, m_messages);
    m_size = 0;
    return spare;
}

}  // namespace eustress::net::session
