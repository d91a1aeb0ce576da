// The TLS key log holds secrets that decrypt traffic: it is private to its owner, also when it already existed.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "transport/key_log.hpp"

namespace eustress::net::testing {
namespace {

struct TemporaryDirectory
{
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("eustress-key-log-test-" + std::to_string(::getpid()));
    TemporaryDirectory() { std::filesystem::create_directories(path); }
    ~TemporaryDirectory() { std::filesystem::remove_all(path); }
};

unsigned mode_of(const std::filesystem::path& path)
{
    struct stat status
    {};
    EXPECT_EQ(::stat(path.c_str(), &status), 0);
    return status.st_mode & 0777;
}

TEST(KeyLogFile, ANewKeyLogIsPrivate)
{
    TemporaryDirectory directory;
    const auto path = directory.path / "keys.log";
    ASSERT_TRUE(transport::KeyLogFile::open(path));
    EXPECT_EQ(mode_of(path), 0600u);
}

TEST(KeyLogFile, AnExistingWorldReadableKeyLogIsMadePrivateBeforeAnySecret)
{
    TemporaryDirectory directory;
    const auto path = directory.path / "keys.log";
    std::ofstream(path) << "# earlier\n";
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    auto log = transport::KeyLogFile::open(path);
    ASSERT_TRUE(log);
    EXPECT_EQ(mode_of(path), 0600u);
    const std::byte random[4]{}, secret[4]{};
    (*log)->write("CLIENT_TRAFFIC_SECRET_0", random, secret);
    EXPECT_EQ(mode_of(path), 0600u);
}

TEST(KeyLogFile, ASymbolicLinkIsNotFollowed)
{
    TemporaryDirectory directory;
    std::ofstream(directory.path / "elsewhere") << "";
    std::filesystem::create_symlink(directory.path / "elsewhere", directory.path / "keys.log");
    EXPECT_FALSE(transport::KeyLogFile::open(directory.path / "keys.log"));
}

}  // namespace
}  // namespace eustress::net::testing
