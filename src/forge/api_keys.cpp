#include "forge/api_keys.hpp"

#include <sodium.h>

#include "security/sodium_global.hpp"

namespace eustress::net::forge {

namespace {

constexpr std::size_t kMinKeyLength = 16;

/// Hashing first makes the comparison independent of the keys' lengths.
std::array<unsigned char, 32> hash_of(std::string_view key)
{
    std::array<unsigned char, 32> hash{};
    crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                       nullptr, 0);
    return hash;
}

std::string_view trimmed(std::string_view text)
{
    constexpr std::string_view kSpace = " \t\r";
    const auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

ForgeResult<ApiKeys> ApiKeys::parse(std::string_view text)
{
    security::ensure_sodium_initialized();
    ApiKeys keys;
    while (!text.empty())
    {
        const auto end = text.find_first_of(",\n");
        const std::string_view key = trimmed(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (key.empty() || key.front() == '#')
            continue;
        if (key.size() < kMinKeyLength)
            return forge_error(ForgeErrc::Invalid, "an API key has at least 16 characters");
        keys.m_hashes.push_back(hash_of(key));
    }
    return keys;
}

bool ApiKeys::accepts(std::string_view presented) const
{
    const auto hash = hash_of(presented);
    bool accepted = false;
    for (const auto& known : m_hashes)  // every key compared: which one matched does not show in the time
        accepted = (sodium_memcmp(known.data(), hash.data(), hash.size()) == 0) || accepted;
    return accepted;
}

}  // namespace eustress::net::forge
