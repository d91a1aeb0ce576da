// The manifest's body, a line-oriented text (docs/ASSETS.md, "Manifest"):
//
//     eustress-manifest 1
//     release <name>
//     publisher <64 hex digits: the Ed25519 public key>
//     files <count>
//     file <size> <chunk count> <path>        one per file, sorted by path, followed by its chunks:
//     chunk <offset> <size> <stored size> <64 hex digits: BLAKE2b-256 of the raw bytes>
//
// Parsing assumes a hostile author: every number is checked against ManifestLimits before anything is reserved for
// it, every path against traversal, and the chunks against the file they claim to cover.
#include <charconv>
#include <set>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {
namespace {

constexpr std::string_view kMagic = "eustress-manifest 1";

ManifestError refuse(ManifestRefusal reason, std::size_t line, std::string message)
{
    return ManifestError{reason, "manifest line " + std::to_string(line) + ": " + message};
}

class LineReader
{
  public:
    explicit LineReader(std::string_view text) : m_text(text) {}
    /// The next line without its '\n'; none at the end, or for a last line without '\n' (a truncated text).
    std::optional<std::string_view> next()
    {
        const auto end = m_text.find('\n', m_position);
        if (end == std::string_view::npos)
            return std::nullopt;
        const auto line = m_text.substr(m_position, end - m_position);
        m_position = end + 1;
        ++m_number;
        return line;
    }
    bool at_end() const { return m_position == m_text.size(); }
    std::size_t number() const { return m_number; }

  private:
    std::string_view m_text;
    std::size_t m_position = 0;
    std::size_t m_number = 0;
};

/// Splits off the next space-separated word of `rest`.
std::string_view take_word(std::string_view& rest)
{
    const auto space = rest.find(' ');
    const auto word = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    return word;
}

std::optional<std::uint64_t> parse_number(std::string_view word)
{
    std::uint64_t value = 0;
    if (word.empty() || word.size() > 20 || (word.size() > 1 && word[0] == '0'))
        return std::nullopt;
    const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (error != std::errc{} || end != word.data() + word.size())
        return std::nullopt;
    return value;
}

/// Why `path` may not be written under the destination directory, or nothing when it may.
std::optional<std::string> unsafe_path_reason(std::string_view path, std::size_t max_length)
{
    if (path.empty() || path.size() > max_length)
        return "a path of " + std::to_string(path.size()) + " bytes";
    if (path.front() == '/')
        return "an absolute path";
    for (const char c : path)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\')
            return "a control character or backslash in a path";
    std::string_view rest = path;
    bool first = true;
    while (true)
    {
        const auto slash = rest.find('/');
        const auto component = rest.substr(0, slash);
        if (component.empty() || component == "." || component == "..")
            return "a path component '" + std::string(component) + "' (traversal or empty)";
        if (first && component.find(':') != std::string_view::npos)
            return "a drive or scheme prefix in a path";
        first = false;
        if (slash == std::string_view::npos)
            return std::nullopt;
        rest = rest.substr(slash + 1);
    }
}

struct BodyParser
{
    LineReader lines;
    const ManifestLimits& limits;
    Manifest manifest;
    std::size_t chunks_seen = 0;
    std::uint64_t total_size = 0;

    ManifestError error(ManifestRefusal reason, std::string message) const
    {
        return refuse(reason, lines.number(), std::move(message));
    }

    Result<std::string_view, ManifestError> expect(std::string_view keyword)
    {
        const auto line = lines.next();
        if (!line)
            return error(ManifestRefusal::Malformed, "the text ends before '" + std::string(keyword) + "'");
        if (!line->starts_with(keyword) || line->size() <= keyword.size() || (*line)[keyword.size()] != ' ')
            return error(ManifestRefusal::Malformed, "expected '" + std::string(keyword) + " ...'");
        return line->substr(keyword.size() + 1);
    }

    Result<void, ManifestError> header()
    {
        const auto magic = lines.next();
        if (!magic || *magic != kMagic)
            return error(ManifestRefusal::Malformed, "not an eustress manifest (version 1)");
        auto release = expect("release");
        if (!release)
            return release.error();
        if (release->size() > 128 || release->find_first_of(" \t\r") != std::string_view::npos)
            return error(ManifestRefusal::Malformed, "a release name must be at most 128 bytes without spaces");
        manifest.release = std::string(*release);
        auto publisher = expect("publisher");
        if (!publisher)
            return publisher.error();
        const auto key = public_key_from_hex(*publisher);
        if (!key)
            return error(ManifestRefusal::Malformed, "the publisher is not 64 hex digits");
        manifest.publisher = *key;
        return {};
    }

    Result<void, ManifestError> chunk(ManifestFile& file, std::uint64_t& offset)
    {
        auto line = expect("chunk");
        if (!line)
            return line.error();
        std::string_view rest = *line;
        const auto at = parse_number(take_word(rest));
        const auto size = parse_number(take_word(rest));
        const auto stored = parse_number(take_word(rest));
        const auto id = ChunkId::from_hex(rest);
        if (!at || !size || !stored || !id)
            return error(ManifestRefusal::Malformed, "expected 'chunk <offset> <size> <stored size> <hash>'");
        if (*size == 0 || *size > limits.max_chunk_size)
            return error(ManifestRefusal::TooLarge, "a chunk of " + std::to_string(*size) + " bytes");
        if (*stored == 0 || *stored > *size + 1)
            return error(ManifestRefusal::StoredSizeAbsurd,
                         "stored size " + std::to_string(*stored) + " for a chunk of " + std::to_string(*size));
        if (*at != offset || *size > file.size - offset)
            return error(ManifestRefusal::Inconsistent, "a chunk at " + std::to_string(*at) + " where " +
                                                            std::to_string(offset) + " was due, or past the end");
        file.chunks.push_back({*id, *at, static_cast<std::uint32_t>(*size), static_cast<std::uint32_t>(*stored)});
        offset += *size;
        return {};
    }

    Result<void, ManifestError> file_entry()
    {
        auto line = expect("file");
        if (!line)
            return line.error();
        std::string_view rest = *line;
        const auto size = parse_number(take_word(rest));
        const auto count = parse_number(take_word(rest));
        if (!size || !count)
            return error(ManifestRefusal::Malformed, "expected 'file <size> <chunk count> <path>'");
        if (const auto unsafe = unsafe_path_reason(rest, limits.max_path_length))
            return error(ManifestRefusal::UnsafePath, *unsafe);
        if (*size > limits.max_file_size || *size > limits.max_total_size - total_size)
            return error(ManifestRefusal::TooLarge, "a file of " + std::to_string(*size) + " bytes");
        if (*count > limits.max_chunks - chunks_seen)
            return error(ManifestRefusal::TooLarge, "more than " + std::to_string(limits.max_chunks) + " chunks");
        if (*count > *size)  // every chunk holds at least one byte
            return error(ManifestRefusal::Inconsistent, "more chunks than bytes");
        total_size += *size;
        chunks_seen += *count;
        ManifestFile file{std::string(rest), *size, {}};
        file.chunks.reserve(*count);
        std::uint64_t offset = 0;
        for (std::uint64_t i = 0; i < *count; ++i)
            if (auto parsed = chunk(file, offset); !parsed)
                return parsed.error();
        if (offset != file.size)
            return error(ManifestRefusal::Inconsistent, "the chunks of '" + file.path + "' cover " +
                                                            std::to_string(offset) + " of " +
                                                            std::to_string(file.size) + " bytes");
        manifest.files.push_back(std::move(file));
        return {};
    }

    Result<void, ManifestError> files()
    {
        auto line = expect("files");
        if (!line)
            return line.error();
        const auto count = parse_number(*line);
        if (!count)
            return error(ManifestRefusal::Malformed, "expected 'files <count>'");
        if (*count > limits.max_files)
            return error(ManifestRefusal::TooLarge, std::to_string(*count) + " files");
        manifest.files.reserve(*count);
        for (std::uint64_t i = 0; i < *count; ++i)
            if (auto parsed = file_entry(); !parsed)
                return parsed;
        if (!lines.at_end())
            return error(ManifestRefusal::Malformed, "text after the last file");
        return {};
    }
};

/// Sorted, unique, and no path both a file and a folder of another file.
Result<void, ManifestError> check_file_set(const Manifest& manifest)
{
    std::set<std::string_view> folders;
    for (std::size_t i = 0; i < manifest.files.size(); ++i)
    {
        const std::string_view path = manifest.files[i].path;
        if (i > 0 && !(manifest.files[i - 1].path < path))
            return ManifestError{ManifestRefusal::Inconsistent, "'" + std::string(path) + "' out of order or twice"};
        for (auto slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1))
            folders.insert(path.substr(0, slash));
    }
    for (const auto& file : manifest.files)
        if (folders.contains(file.path))
            return ManifestError{ManifestRefusal::Inconsistent, "'" + file.path + "' is both a file and a folder"};
    return {};
}

}  // namespace

const char* to_string(ManifestRefusal reason) noexcept
{
    switch (reason)
    {
    case ManifestRefusal::TooLarge:
        return "too_large";
    case ManifestRefusal::BadSignature:
        return "bad_signature";
    case ManifestRefusal::Malformed:
        return "malformed";
    case ManifestRefusal::UnsafePath:
        return "unsafe_path";
    case ManifestRefusal::Inconsistent:
        return "inconsistent";
    case ManifestRefusal::StoredSizeAbsurd:
        return "stored_size_absurd";
    }
    return "unknown";
}

Result<Manifest, ManifestError> parse_manifest_body(std::string_view body, const ManifestLimits& limits)
{
    if (body.size() > limits.max_bytes)
        return ManifestError{ManifestRefusal::TooLarge, "a manifest of " + std::to_string(body.size()) + " bytes"};
    BodyParser parser{LineReader(body), limits, {}};
    if (auto header = parser.header(); !header)
        return header.error();
    if (auto files = parser.files(); !files)
        return files.error();
    if (auto checked = check_file_set(parser.manifest); !checked)
        return checked.error();
    return std::move(parser.manifest);
}

std::string write_manifest_body(const Manifest& manifest)
{
    std::string body = std::string(kMagic) + "\nrelease " + manifest.release + "\npublisher " +
                       public_key_to_hex(manifest.publisher) + "\nfiles " + std::to_string(manifest.files.size()) +
                       "\n";
    for (const auto& file : manifest.files)
    {
        body += "file " + std::to_string(file.size) + " " + std::to_string(file.chunks.size()) + " " + file.path + "\n";
        for (const auto& chunk : file.chunks)
            body += "chunk " + std::to_string(chunk.offset) + " " + std::to_string(chunk.size) + " " +
                    std::to_string(chunk.stored_size) + " " + chunk.id.to_hex() + "\n";
    }
    return body;
}

}  // namespace eustress::net::assets
