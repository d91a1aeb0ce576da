// Base64 (standard alphabet, padded) over libsodium, for what Forge puts in JSON: etcd keys and values, tokens.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace eustress::net::forge {

std::string to_base64(std::span<const std::byte> bytes);
inline std::string to_base64(std::string_view text)
{
    return to_base64(std::as_bytes(std::span(text.data(), text.size())));
}
/// nullopt when `text` is not base64.
std::optional<std::vector<std::byte>> bytes_from_base64(std::string_view text);
std::optional<std::string> text_from_base64(std::string_view text);

}  // namespace eustress::net::forge
