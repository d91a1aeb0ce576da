#include "key_file.hpp"

#include <fcntl.h>
#include <fstream>
#include <sodium.h>
#include <unistd.h>

#include <sys/stat.h>

namespace eustress::net::assets_tool {
namespace {

std::string read_first_line(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

Result<void> write_key_files(const std::filesystem::path& path, const assets::PublisherKeys& keys)
{
    std::string hex(keys.secret_key.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), keys.secret_key.data(), keys.secret_key.size());
    hex.back() = '\n';
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);  // never readable by others, not even briefly
    if (fd < 0)
        return make_error(ErrorCode::IoError, "cannot create " + path.string() + " (it must not exist yet)");
    const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
    ::close(fd);
    sodium_memzero(hex.data(), hex.size());
    std::ofstream pub(path.string() + ".pub");
    pub << assets::public_key_to_hex(keys.public_key) << "\n";
    if (!written || !pub.flush())
        return make_error(ErrorCode::IoError, "cannot write the key files at " + path.string());
    return {};
}

Result<assets::PublisherKeys> read_key_file(const std::filesystem::path& path)
{
    std::string hex = read_first_line(path);
    assets::PublisherKeys keys;
    std::size_t written = 0;
    const bool ok = hex.size() == 128 &&
                    sodium_hex2bin(keys.secret_key.data(), keys.secret_key.size(), hex.data(), hex.size(), nullptr,
                                   &written, nullptr) == 0 &&
                    written == keys.secret_key.size();
    sodium_memzero(hex.data(), hex.size());
    if (!ok)
        return make_error(ErrorCode::InvalidArgument, path.string() + " is not a key file (eustress-assets keygen)");
    std::copy(keys.secret_key.begin() + 32, keys.secret_key.end(), keys.public_key.begin());  // Ed25519: seed | public
    return keys;
}

Result<assets::PublicKey> read_public_key(const std::string& hex_or_path)
{
    if (auto key = assets::public_key_from_hex(hex_or_path))
        return *key;
    if (auto key = assets::public_key_from_hex(read_first_line(hex_or_path)))
        return *key;
    return make_error(ErrorCode::InvalidArgument, "'" + hex_or_path + "' is neither 64 hex digits nor a .pub file");
}

}  // namespace eustress::net::assets_tool
