#include "crdt_sync/batch_frame.hpp"

namespace eustress::net::crdt {

namespace {

constexpr std::size_t kLengthBytes = 4;

}  // namespace

std::size_t batch_length(const std::deque<Outgoing>& queue)
{
    std::size_t count = 0;
    std::size_t bytes = 1;
    for (const Outgoing& outgoing : queue)
    {
        bytes += kLengthBytes + outgoing.bytes.size();
        if (count > 0 && (outgoing.id == 0 || outgoing.subject != queue.front().subject || bytes > kMaxBatchBytes))
            break;
        ++count;
        if (outgoing.id == 0)
            break;  // a control message travels alone
    }
    return count;
}

std::vector<std::byte> pack_batch(const std::deque<Outgoing>& queue, std::size_t count)
{
    std::vector<std::byte> message{kBatchMarker};
    for (std::size_t index = 0; index < count; ++index)
    {
        const auto& bytes = queue[index].bytes;
        const auto length = static_cast<std::uint32_t>(bytes.size());
        for (std::size_t shift = 0; shift < 32; shift += 8)
            message.push_back(static_cast<std::byte>((length >> shift) & 0xff));
        message.insert(message.end(), bytes.begin(), bytes.end());
    }
    return message;
}

std::optional<std::vector<Bytes>> unpack_batch(Bytes message)
{
    if (!is_batch(message))
        return std::nullopt;
    std::vector<Bytes> deltas;
    std::size_t at = 1;
    while (at < message.size())
    {
        if (message.size() - at < kLengthBytes)
            return std::nullopt;
        std::uint32_t length = 0;
        for (std::size_t index = 0; index < kLengthBytes; ++index)
            length |= static_cast<std::uint32_t>(message[at + index]) << (8 * index);
        at += kLengthBytes;
        if (length == 0 || message.size() - at < length)
            return std::nullopt;
        deltas.push_back(message.subspan(at, length));
        at += length;
    }
    if (deltas.empty())
        return std::nullopt;
    return deltas;
}

}  // namespace eustress::net::crdt
