// The trust-on-first-use store. File format, one binding a line, oldest first:
//     <SPKI pin, base64 (44 characters)> <space> <party name to the end of the line>
// Party names have no control characters (lan_wire.cpp refuses them), so a name never holds a line break.
#include "p2p/lan_trust.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>
#include <vector>

#include "p2p/lan_wire.hpp"

namespace eustress::net::p2p {

std::optional<SpkiPin> LanTrustStore::pin_of(std::string_view party_name) const
{
    const auto found = m_entries.find(party_name);
    if (found == m_entries.end())
        return std::nullopt;
    return found->second.pin;
}

void LanTrustStore::bind(std::string_view party_name, const SpkiPin& pin)
{
    if (m_max_entries == 0)
        return;
    if (auto found = m_entries.find(party_name); found != m_entries.end())
    {
        found->second = {pin, m_next_order++};
        return;
    }
    if (m_entries.size() >= m_max_entries)
    {
        const auto oldest = std::min_element(m_entries.begin(), m_entries.end(), [](const auto& a, const auto& b) {
            return a.second.order < b.second.order;
        });
        m_entries.erase(oldest);
    }
    m_entries.emplace(std::string(party_name), Entry{pin, m_next_order++});
}

Result<void> LanTrustStore::load(const std::filesystem::path& path)
{
    std::ifstream file(path);
    if (!file)
    {
        std::error_code error;
        if (!std::filesystem::exists(path, error))
            return {};
        return make_error(ErrorCode::IoError, "cannot read the trust file " + path.string());
    }
    std::string line;
    std::size_t number = 0;
    while (std::getline(file, line))
    {
        ++number;
        if (line.empty() || line.front() == '#')
            continue;
        const auto space = line.find(' ');
        const auto pin = space == std::string::npos ? std::nullopt : SpkiPin::parse(line.substr(0, space));
        const std::string_view name =
            space == std::string::npos ? std::string_view{} : std::string_view(line).substr(space + 1);
        if (!pin || !is_valid_lan_name(name, kMaxLanPartyName, false))
            return make_error(ErrorCode::IoError,
                              path.string() + ":" + std::to_string(number) + ": not '<pin> <party name>'");
        bind(name, *pin);
    }
    return {};
}

Result<void> LanTrustStore::save(const std::filesystem::path& path) const
{
    std::vector<std::pair<std::uint64_t, const std::pair<const std::string, Entry>*>> ordered;
    for (const auto& entry : m_entries)
        ordered.emplace_back(entry.second.order, &entry);
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    std::filesystem::path temporary = path;
    temporary += ".tmp";
    {
        std::ofstream file(temporary, std::ios::trunc);
        if (!file)
            return make_error(ErrorCode::IoError, "cannot write the trust file " + temporary.string());
        file << "# eustress LAN parties trusted on first use: <key pin> <party name>\n";
        for (const auto& [order, entry] : ordered)
            file << entry->second.pin.to_base64() << ' ' << entry->first << '\n';
        if (!file.flush())
            return make_error(ErrorCode::IoError, "cannot write the trust file " + temporary.string());
    }
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error)
        return make_error(ErrorCode::IoError,
                          "cannot replace the trust file " + path.string() + ": " + error.message());
    return {};
}

}  // namespace eustress::net::p2p
