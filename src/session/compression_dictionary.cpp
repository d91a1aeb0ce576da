// Training a channel's zstd dictionary from a game's recorded messages (ChannelCompression).
#include <numeric>
#include <string>
#include <zdict.h>

#include "eustress/net/channel.hpp"

namespace eustress::net {

Result<std::vector<std::byte>> train_compression_dictionary(std::span<const std::vector<std::byte>> samples,
                                                            std::size_t max_size)
{
    // zdict takes the samples end to end with their sizes beside them.
    std::vector<std::byte> joined;
    std::vector<std::size_t> sizes;
    joined.reserve(std::accumulate(samples.begin(), samples.end(), std::size_t{0},
                                   [](std::size_t total, const auto& sample) { return total + sample.size(); }));
    for (const auto& sample : samples)
    {
        joined.insert(joined.end(), sample.begin(), sample.end());
        sizes.push_back(sample.size());
    }
    std::vector<std::byte> dictionary(max_size);
    const std::size_t size = ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), joined.data(), sizes.data(),
                                                   static_cast<unsigned>(sizes.size()));
    if (ZDICT_isError(size))
        return make_error(ErrorCode::InvalidArgument, std::string("training a dictionary: ") +
                                                          ZDICT_getErrorName(size) + " (" +
                                                          std::to_string(samples.size()) + " samples)");
    dictionary.resize(size);
    return dictionary;
}

}  // namespace eustress::net
