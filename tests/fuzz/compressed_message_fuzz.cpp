// A compressing channel's messages (src/session/message_compression.hpp) on any bytes, with and without a dictionary:
// decoding never crashes, never returns more than the limit, and whatever decodes encodes and decodes back to itself.
//
// Seeds in corpus/compressed_message_fuzz, written with the zstd command-line tool and a few lines of Python: a
// raw-tagged message, a frame of a chat line, a frame of 8 MiB of zeros (over the limit), a frame without its size,
// and an unknown tag.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "session/game_messages.hpp"
#include "session/message_compression.hpp"

using namespace eustress::net;

namespace {

constexpr std::size_t kLimit = 64 * 1024;

std::unique_ptr<session::MessageCompression> coder()
{
    static const auto dictionary = [] {
        const auto samples = testing::game_messages(2000, 7);
        return std::make_shared<const std::vector<std::byte>>(train_compression_dictionary(samples, 4096).value());
    }();
    ChannelTable table;
    table.channels.push_back({"plain", ChannelKind::ReliableOrdered, 128, 0.0, kLimit, kLimit, {true, 3, nullptr}});
    table.channels.push_back(
        {"dictionary", ChannelKind::ReliableOrdered, 128, 0.0, kLimit, kLimit, {true, 3, dictionary}});
    return session::MessageCompression::create(table).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static auto compression = coder();
    const Bytes wire(reinterpret_cast<const std::byte*>(data), size);
    for (ChannelId channel = 0; channel < 2; ++channel)
    {
        auto opened = compression->decode(channel, wire, kLimit);
        if (!opened)
            continue;
        if (opened->size() > kLimit)
            std::abort();
        const std::vector<std::byte> message(opened->begin(), opened->end());
        const auto encoded = compression->encode(channel, message);
        const std::vector<std::byte> again(encoded.begin(), encoded.end());
        auto back = compression->decode(channel, again, kLimit);
        if (!back || !std::equal(back->begin(), back->end(), message.begin(), message.end()))
            std::abort();
    }
    return 0;
}
