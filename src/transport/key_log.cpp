#include "transport/key_log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include <sys/stat.h>

namespace eustress::net::transport {
namespace {

void append_hex(std::string& out, Bytes bytes)
{
    constexpr char kDigits[] = "0123456789abcdef";
    for (const std::byte byte : bytes)
    {
        const auto value = std::to_integer<unsigned>(byte);
        out.push_back(kDigits[value >> 4]);
        out.push_back(kDigits[value & 0xf]);
    }
}

}  // namespace

Result<std::unique_ptr<KeyLogFile>> KeyLogFile::open(const std::filesystem::path& path)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return make_error(ErrorCode::IoError,
                          "cannot open TLS key log '" + path.string() + "': " + std::strerror(errno));
    // The mode given to open(2) applies only to a file it creates: one that already existed (made by another
    // tool, or left world-readable) is narrowed here before any secret is written to it.
    if (::fchmod(fd, 0600) != 0)
    {
        const int error = errno;
        ::close(fd);
        return make_error(ErrorCode::IoError,
                          "cannot make TLS key log '" + path.string() + "' private: " + std::strerror(error));
    }
    std::fprintf(stderr,
                 "eustress: WARNING: writing TLS secrets to the key log '%s'. Anyone holding this file can decrypt "
                 "the traffic of these connections; use it for debugging only and delete it afterwards.\n",
                 path.c_str());
    return std::unique_ptr<KeyLogFile>(new KeyLogFile(fd));
}

KeyLogFile::~KeyLogFile()
{
    ::close(m_fd);
}

std::string KeyLogFile::format_line(std::string_view label, Bytes client_random, Bytes secret)
{
    std::string line;
    line.reserve(label.size() + 2 + 2 * (client_random.size() + secret.size()) + 1);
    line.append(label);
    line.push_back(' ');
    append_hex(line, client_random);
    line.push_back(' ');
    append_hex(line, secret);
    line.push_back('\n');
    return line;
}

void KeyLogFile::write(std::string_view label, Bytes client_random, Bytes secret) const
{
    const std::string line = format_line(label, client_random, secret);
    // A failed write loses a debugging aid, never the connection: nothing to do but carry on.
    for (ssize_t written = -1; written < 0;)
    {
        written = ::write(m_fd, line.data(), line.size());
        if (written < 0 && errno != EINTR)
            return;
    }
}

}  // namespace eustress::net::transport
