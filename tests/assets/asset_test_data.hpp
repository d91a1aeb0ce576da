// Test data for the asset tests: seeded pseudo-random bytes (incompressible), compressible text, and temporary
// directories removed at the end of the test.
#pragma once

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets::test {

inline std::vector<std::byte> random_bytes(std::size_t size, std::uint64_t seed)
{
    std::mt19937_64 generator(seed);
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; i += 8)
    {
        const std::uint64_t value = generator();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j)
            bytes[i + j] = static_cast<std::byte>(value >> (8 * j));
    }
    return bytes;
}

inline std::vector<std::byte> text_bytes(std::size_t size)
{
    const std::string line = "entity 42 position 1.0 2.0 3.0 orientation 0 0 0 1 mesh crate.obj\n";
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>(line[i % line.size()]);
    return bytes;
}

inline void write_file(const std::filesystem::path& path, const std::vector<std::byte>& bytes)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::byte> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    return bytes;
}

/// Publishes one file, `bytes` as `name`, from `directory`/in to `directory`/www (a fresh publisher key) and returns
/// the manifest, read back and verified.
inline Manifest publish_one_file(const std::filesystem::path& directory, const std::string& name,
                                 const std::vector<std::byte>& bytes)
{
    const auto keys = generate_publisher_keys();
    write_file(directory / "in" / name, bytes);
    if (!publish_release(directory / "in", directory / "www", keys))
        throw std::runtime_error("cannot publish " + name);
    const auto text = read_file(directory / "www/manifest");
    auto manifest =
        read_manifest(std::string(reinterpret_cast<const char*>(text.data()), text.size()), keys.public_key);
    if (!manifest)
        throw std::runtime_error(manifest.error().message);
    return *manifest;
}

/// A fresh directory under the system's temporary folder, removed when this goes out of scope.
class TemporaryDirectory
{
  public:
    TemporaryDirectory()
    {
        std::random_device entropy;
        m_path = std::filesystem::temp_directory_path() / ("eustress-assets-" + std::to_string(entropy()));
        std::filesystem::create_directories(m_path);
    }
    ~TemporaryDirectory()
    {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
};

}  // namespace eustress::net::assets::test
