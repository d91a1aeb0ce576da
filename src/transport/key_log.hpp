// A TLS key log in the NSS format (the SSLKEYLOGFILE format Wireshark reads): one line per secret,
// "LABEL <client random hex> <secret hex>". For debugging only: whoever holds the file can decrypt the traffic.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net::transport {

class KeyLogFile
{
  public:
    /// Opens `path` for appending, mode 0600 (created so, or narrowed to it when the file already existed; a
    /// symbolic link is refused), and warns on stderr that secrets are being written. Errors: IoError.
    static Result<std::unique_ptr<KeyLogFile>> open(const std::filesystem::path& path);
    ~KeyLogFile();
    KeyLogFile(const KeyLogFile&) = delete;
    KeyLogFile& operator=(const KeyLogFile&) = delete;

    /// Appends one line. Each line goes out in one write(2) on an O_APPEND descriptor, so lines from the
    /// connections of this process, and from other processes logging to the same file, never interleave.
    void write(std::string_view label, Bytes client_random, Bytes secret) const;

    /// One NSS key log line, newline included.
    static std::string format_line(std::string_view label, Bytes client_random, Bytes secret);

  private:
    explicit KeyLogFile(int fd) : m_fd(fd) {}
    int m_fd;
};

}  // namespace eustress::net::transport
