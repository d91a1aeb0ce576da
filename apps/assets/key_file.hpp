// Publisher keys on disk: the secret key as hex in a file only its owner can read (never on a command line), the
// public key beside it in KEYFILE.pub.
#pragma once

#include <filesystem>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets_tool {

Result<void> write_key_files(const std::filesystem::path& path, const assets::PublisherKeys& keys);
Result<assets::PublisherKeys> read_key_file(const std::filesystem::path& path);
/// 64 hex digits, or a file holding them (a KEYFILE.pub).
Result<assets::PublicKey> read_public_key(const std::string& hex_or_path);

}  // namespace eustress::net::assets_tool
