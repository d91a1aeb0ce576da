#include "session/message_compression.hpp"

#include <cstring>
#include <string>
#include <zstd.h>

namespace eustress::net::session {

struct MessageCompression::Channel
{
    // Both null without a dictionary: zstd then sizes its tables to each message, where a dictionary-less CDict
    // would set up tables for any size on every call (six times slower on game messages).
    ZSTD_CDict* compress = nullptr;
    ZSTD_DDict* decompress = nullptr;
    int level = 3;

    ~Channel()
    {
        ZSTD_freeCDict(compress);
        ZSTD_freeDDict(decompress);
    }
};

struct MessageCompression::Contexts
{
    ZSTD_CCtx* compress = ZSTD_createCCtx();
    ZSTD_DCtx* decompress = ZSTD_createDCtx();

    ~Contexts()
    {
        ZSTD_freeCCtx(compress);
        ZSTD_freeDCtx(decompress);
    }
};

MessageCompression::MessageCompression() : m_contexts(std::make_unique<Contexts>()) {}
MessageCompression::~MessageCompression() = default;

Result<std::unique_ptr<MessageCompression>> MessageCompression::create(const ChannelTable& table)
{
    std::unique_ptr<MessageCompression> result(new MessageCompression());
    if (!result->m_contexts->compress || !result->m_contexts->decompress)
        return make_error(ErrorCode::InvalidArgument, "zstd could not allocate its contexts");
    for (const auto& config : table.channels)
    {
        auto& slot = result->m_channels.emplace_back();
        if (!config.compression.enabled)
            continue;
        slot = std::make_unique<Channel>();
        slot->level = config.compression.level;
        const auto& dictionary = config.compression.dictionary;
        const void* bytes = dictionary ? dictionary->data() : nullptr;
        const std::size_t size = dictionary ? dictionary->size() : 0;
        if (size == 0)
            continue;
        slot->compress = ZSTD_createCDict(bytes, size, slot->level);
        slot->decompress = ZSTD_createDDict(bytes, size);
        if (!slot->compress || !slot->decompress)
            return make_error(ErrorCode::InvalidArgument, "channel '" + config.name + "': zstd refused its dictionary");
    }
    return result;
}

bool MessageCompression::compresses(ChannelId channel) const noexcept
{
    return channel < m_channels.size() && m_channels[channel] != nullptr;
}

Bytes MessageCompression::encode(ChannelId channel, Bytes message)
{
    const Channel& coder = *m_channels[channel];
    m_buffer.resize(1 + ZSTD_compressBound(message.size()));
    std::byte* out = m_buffer.data() + 1;
    const std::size_t capacity = m_buffer.size() - 1;
    const std::size_t size = coder.compress ? ZSTD_compress_usingCDict(m_contexts->compress, out, capacity,
                                                                       message.data(), message.size(), coder.compress)
                                            : ZSTD_compressCCtx(m_contexts->compress, out, capacity, message.data(),
                                                                message.size(), coder.level);
    const bool pays = !ZSTD_isError(size) && size < message.size();
    m_buffer[0] = std::byte{static_cast<std::uint8_t>(pays ? Tag::Zstd : Tag::Raw)};
    if (!pays && !message.empty())
        std::memcpy(m_buffer.data() + 1, message.data(), message.size());
    const std::size_t total = 1 + (pays ? size : message.size());
    ++m_encoded.messages;
    m_encoded.bytes_in += message.size();
    m_encoded.bytes_out += total;
    return Bytes(m_buffer.data(), total);
}

Result<Bytes> MessageCompression::decode(ChannelId channel, Bytes wire, std::size_t max_size)
{
    if (wire.empty())
        return make_error(ErrorCode::ProtocolError, "compressed channel: empty message");
    const auto tag = static_cast<std::uint8_t>(wire[0]);
    const Bytes body = wire.subspan(1);
    if (tag == static_cast<std::uint8_t>(Tag::Raw))
        return body;
    if (tag != static_cast<std::uint8_t>(Tag::Zstd))
        return make_error(ErrorCode::ProtocolError, "compressed channel: unknown tag " + std::to_string(tag));
    // The frame must say how large it opens up to, and that must be within the channel's limit: a bomb is refused
    // before any memory is spent on it.
    const unsigned long long claimed = ZSTD_getFrameContentSize(body.data(), body.size());
    if (claimed == ZSTD_CONTENTSIZE_UNKNOWN || claimed == ZSTD_CONTENTSIZE_ERROR)
        return make_error(ErrorCode::ProtocolError, "compressed channel: a frame without a readable size");
    if (claimed > max_size)
        return make_error(ErrorCode::ProtocolError,
                          "compressed channel: a frame claims " + std::to_string(claimed) + " bytes");
    m_buffer.resize(static_cast<std::size_t>(claimed));
    const ZSTD_DDict* dictionary = m_channels[channel]->decompress;
    const std::size_t size = ZSTD_decompress_usingDDict(m_contexts->decompress, m_buffer.data(), m_buffer.size(),
                                                        body.data(), body.size(), dictionary);
    if (ZSTD_isError(size) || size != claimed)
        return make_error(ErrorCode::ProtocolError, "compressed channel: a corrupt frame");
    return Bytes(m_buffer.data(), size);
}

}  // namespace eustress::net::session
