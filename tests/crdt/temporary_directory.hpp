// A private temporary directory for a test, removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <stdlib.h>
#include <string>

namespace eustress::net::crdt::testing {

class TemporaryDirectory
{
  public:
    TemporaryDirectory()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "eustress-crdt-XXXXXX").string();
        m_path = mkdtemp(pattern.data()) ? pattern : std::string();
    }
    ~TemporaryDirectory()
    {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

    std::string file(const std::string& name) const { return (std::filesystem::path(m_path) / name).string(); }

  private:
    std::string m_path;
};

}  // namespace eustress::net::crdt::testing
