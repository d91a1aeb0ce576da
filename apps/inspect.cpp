// eustress-inspect: prints our frames from a packet capture, or a qlog file's packets, as text or JSON lines.
//
// QUIC decryption is tshark's (with the TLS key log the apps write with --key-log): it hands us each packet's
// decrypted STREAM frames and DATAGRAM payloads, and we decode them with the library's own parsers (src/inspect on
// session::parse_stream_header, parse_stream_record, parse_hello, parse_datagram, ...), so the inspector cannot
// disagree with the library about what the bytes mean.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "eustress/net/replication.hpp"
#include "inspect/datagram_decoder.hpp"
#include "inspect/stream_decoder.hpp"

using namespace eustress::net;
using nlohmann::json;

namespace {

[[noreturn]] void die(const std::string& message)
{
    std::fprintf(stderr, "eustress-inspect: %s\n", message.c_str());
    std::exit(1);
}

/// The first executable `name` on PATH (or `name` itself when it holds a slash).
std::string find_program(const std::string& name)
{
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
    const char* path = std::getenv("PATH");
    std::istringstream directories(path ? path : "");
    for (std::string directory; std::getline(directories, directory, ':');)
    {
        const std::string candidate = (directory.empty() ? "." : directory) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

/// Runs `argv` and returns what it wrote to stdout; what it wrote to stderr is shown only when it fails.
std::string run_capturing(const std::vector<std::string>& argv)
{
    char error_path[] = "/tmp/eustress-inspect-XXXXXX";
    const int error_fd = ::mkstemp(error_path);
    int pipe_fds[2];
    if (error_fd < 0 || ::pipe(pipe_fds) != 0)
        die(std::string("cannot run ") + argv[0] + ": " + std::strerror(errno));
    ::unlink(error_path);
    const pid_t child = ::fork();
    if (child < 0)
        die(std::string("fork: ") + std::strerror(errno));
    if (child == 0)
    {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::dup2(error_fd, STDERR_FILENO);
        ::close(pipe_fds[0]);
        std::vector<char*> args;
        for (const auto& arg : argv)
            args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        std::_Exit(127);
    }
    ::close(pipe_fds[1]);
    std::string output;
    char buffer[65536];
    for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0;)
    {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            die(std::string("reading from tshark: ") + std::strerror(errno));
        output.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
        std::string errors(4096, '\0');
        const ssize_t got = ::pread(error_fd, errors.data(), errors.size(), 0);
        errors.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        die(argv[0] + " failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "):\n" +
            errors);
    }
    ::close(error_fd);
    return output;
}

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + 1)
        parts.push_back(text.substr(start, at - start));
    parts.push_back(text.substr(start));
    return parts;
}

/// tshark prints bytes fields as hex, with or without colons.
std::optional<std::vector<std::byte>> from_hex(const std::string& text)
{
    std::vector<std::byte> bytes;
    int high = -1;
    for (const char c : text)
    {
        if (c == ':')
            continue;
        const int value = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                          : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                          : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                      : -1;
        if (value < 0)
            return std::nullopt;
        if (high < 0)
            high = value;
        else
        {
            bytes.push_back(static_cast<std::byte>(high * 16 + value));
            high = -1;
        }
    }
    if (high >= 0)
        return std::nullopt;
    return bytes;
}

std::string to_hex(const std::vector<std::byte>& bytes)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (const std::byte byte : bytes)
    {
        text.push_back(kDigits[std::to_integer<unsigned>(byte) >> 4]);
        text.push_back(kDigits[std::to_integer<unsigned>(byte) & 0xf]);
    }
    return text;
}

std::optional<std::string> printable_text(const std::vector<std::byte>& bytes)
{
    if (bytes.empty())
        return std::nullopt;
    std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (const unsigned char c : text)
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return std::nullopt;
    return text;
}

// ---- captures -------------------------------------------------------------------------------------------------

struct Options
{
    std::string capture;
    std::string key_log;
    std::string qlog;
    std::string tshark = "tshark";
    bool json = false;
    int snapshot_channel = -1;
};

/// One record with where it was seen.
struct Seen
{
    double time = 0;
    std::uint64_t frame = 0;
    std::uint32_t connection = 0;
    bool from_client = true;
    std::optional<std::uint64_t> stream_id;
    inspect::DecodedRecord record;
};

const char* stream_kind_name(session::StreamKind kind)
{
    switch (kind)
    {
    case session::StreamKind::Control:
        return "control";
    case session::StreamKind::OrderedChannel:
        return "ordered";
    case session::StreamKind::UnorderedLane:
        return "unordered_lane";
    }
    return "?";
}

class CapturePrinter
{
  public:
    CapturePrinter(const ChannelTable& channels, bool as_json) : m_channels(channels), m_json(as_json) {}

    void print(const Seen& seen)
    {
        ++m_printed;
        if (m_json)
            std::printf("%s\n", to_json(seen).dump().c_str());
        else
            std::printf("%s\n", to_text(seen).c_str());
    }
    std::size_t printed() const noexcept { return m_printed; }

  private:
    std::string channel_name(ChannelId channel) const
    {
        return channel < m_channels.channels.size() ? m_channels.channels[channel].name : "undeclared";
    }

    std::string to_text(const Seen& seen) const
    {
        const auto& record = seen.record;
        char head[96];
        std::snprintf(head, sizeof head, "%.6f conn %u %s ", seen.time, seen.connection,
                      seen.from_client ? "client->server" : "server->client");
        std::string line = head;
        if (seen.stream_id)
        {
            line += "stream " + std::to_string(*seen.stream_id) + " ";
            if (record.stream_kind == session::StreamKind::Control)
                line += "control";
            else if (record.stream_kind == session::StreamKind::OrderedChannel)
                line += "ordered";
            else if (record.stream_kind == session::StreamKind::UnorderedLane)
                line += "unordered lane";
            else
                line += "(no header yet)";
        }
        else
        {
            line += "datagram";
        }
        if (record.channel)
            line += " channel " + std::to_string(*record.channel) + " (" + channel_name(*record.channel) + ")";
        if (record.control_type)
        {
            if (record.hello)
            {
                char fingerprint[32];
                std::snprintf(fingerprint, sizeof fingerprint, "%016llx",
                              static_cast<unsigned long long>(record.hello->channel_fingerprint));
                line += " Hello version " + std::to_string(record.hello->version) + " channels " + fingerprint;
                if (!record.hello->connect_token.empty())
                    line += " token " + std::to_string(record.hello->connect_token.size()) + " bytes";
                if (!record.hello->build_id.empty())
                    line += " build \"" + record.hello->build_id + "\"";
            }
            else if (record.welcome)
                line += " Welcome client " + std::to_string(record.welcome->client_id);
            else
                line += " control type " + std::to_string(*record.control_type);
        }
        else if (seen.stream_id && record.message_id)
            line += " message " + std::to_string(*record.message_id);
        if (record.sequence)
            line += " sequence " + std::to_string(*record.sequence);
        if (record.fragment)
            line += " fragment " + std::to_string(record.fragment->index + 1) + "/" +
                    std::to_string(record.fragment->count) + " group " + std::to_string(record.fragment->group);
        if (record.snapshot)
            line += " snapshot " + std::to_string(record.snapshot->sequence) + " tick " +
                    std::to_string(record.snapshot->tick) + " baseline " + std::to_string(record.snapshot->baseline) +
                    " actions " + std::to_string(record.snapshot->actions_required);
        if (!record.snapshot_error.empty())
            line += " snapshot header unreadable (" + record.snapshot_error + ")";
        if (!record.error.empty())
            return line + " MALFORMED: " + record.error;
        line += " " + std::to_string(record.payload.size()) + " bytes";
        if (!record.control_type)
        {
            if (auto text = printable_text(record.payload))
                line += " \"" + *text + "\"";
            else if (!record.payload.empty())
                line += " " + to_hex(record.payload).substr(0, 64) + (record.payload.size() > 32 ? "..." : "");
        }
        return line;
    }

    json to_json(const Seen& seen) const
    {
        const auto& record = seen.record;
        json out;
        out["time"] = seen.time;
        out["frame"] = seen.frame;
        out["connection"] = seen.connection;
        out["direction"] = seen.from_client ? "client_to_server" : "server_to_client";
        out["carrier"] = record.carrier == inspect::Carrier::Stream ? "stream" : "datagram";
        if (seen.stream_id)
            out["stream_id"] = *seen.stream_id;
        if (record.stream_kind)
            out["stream_kind"] = stream_kind_name(*record.stream_kind);
        if (record.channel)
        {
            out["channel"] = *record.channel;
            out["channel_name"] = channel_name(*record.channel);
        }
        if (record.message_id)
            out["message_id"] = *record.message_id;
        if (record.sequence)
            out["sequence"] = *record.sequence;
        if (record.fragment)
            out["fragment"] = {{"group", record.fragment->group},
                               {"index", record.fragment->index},
                               {"count", record.fragment->count}};
        if (record.control_type)
            out["control"] = record.hello     ? json("hello")
                             : record.welcome ? json("welcome")
                                              : json(*record.control_type);
        if (record.hello)
            out["hello"] = {{"version", record.hello->version},
                            {"channel_fingerprint", record.hello->channel_fingerprint},
                            {"connect_token_bytes", record.hello->connect_token.size()},
                            {"build_id", record.hello->build_id}};
        if (record.welcome)
            out["welcome"] = {{"client_id", record.welcome->client_id}};
        if (record.snapshot)
            out["snapshot"] = {{"sequence", record.snapshot->sequence},
                               {"tick", record.snapshot->tick},
                               {"baseline", record.snapshot->baseline},
                               {"actions_required", record.snapshot->actions_required}};
        if (!record.snapshot_error.empty())
            out["snapshot_error"] = record.snapshot_error;
        if (!record.error.empty())
            out["error"] = record.error;
        out["length"] = record.payload.size();
        if (!record.control_type)
            if (auto text = printable_text(record.payload))
                out["text"] = *text;
        out["payload_hex"] = to_hex(record.payload);
        return out;
    }

    const ChannelTable& m_channels;
    bool m_json;
    std::size_t m_printed = 0;
};

/// The tshark fields we read, in this order.
const std::vector<std::string> kFields = {"frame.number",
                                          "frame.time_relative",
                                          "ip.src",
                                          "ipv6.src",
                                          "udp.srcport",
                                          "quic.connection.number",
                                          "quic.stream.stream_id",
                                          "quic.stream.off",
                                          "quic.stream.offset",
                                          "quic.stream.fin",
                                          "quic.stream_data",
                                          "quic.dg"};
enum Column
{
    kFrame,
    kTime,
    kIpSource,
    kIpv6Source,
    kPort,
    kConnection,
    kStreamId,
    kStreamOff,
    kStreamOffset,
    kStreamFin,
    kStreamData,
    kDatagram,
};

bool is_true(const std::string& value)
{
    return value == "1" || value == "True" || value == "true";
}

std::uint64_t to_number(const std::string& text, const char* what, std::uint64_t frame)
{
    char* end = nullptr;
    errno = 0;
    const auto value = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0)
        die("frame " + std::to_string(frame) + ": tshark gave '" + text + "' for " + what);
    return value;
}

int inspect_capture(const Options& options)
{
    const std::string tshark = find_program(options.tshark);
    if (tshark.empty())
        die("cannot find '" + options.tshark +
            "' on PATH: eustress-inspect needs tshark to decrypt QUIC (Debian: apt-get install tshark)");
    if (::access(options.capture.c_str(), R_OK) != 0)
        die("cannot read capture '" + options.capture + "': " + std::strerror(errno));
    std::vector<std::string> argv = {tshark,         "-r", options.capture, "-Y", "quic",         "-T", "fields", "-E",
                                     "separator=/t", "-E", "occurrence=a",  "-E", "aggregator=,", "-E", "quote=n"};
    if (!options.key_log.empty())
    {
        if (::access(options.key_log.c_str(), R_OK) != 0)
            die("cannot read key log '" + options.key_log + "': " + std::strerror(errno));
        argv.insert(argv.end(), {"-o", "tls.keylog_file:" + options.key_log});
    }
    for (const auto& field : kFields)
        argv.insert(argv.end(), {"-e", field});
    const std::string output = run_capturing(argv);

    ChannelTable channels = ChannelTable::defaults();
    const ReplicationChannels replication = add_replication_channels(channels);
    const std::optional<ChannelId> snapshot_channel =
        options.snapshot_channel < 0     ? std::optional<ChannelId>(replication.snapshots)
        : options.snapshot_channel >= 64 ? std::nullopt
                                         : std::optional<ChannelId>(static_cast<ChannelId>(options.snapshot_channel));
    CapturePrinter printer(channels, options.json);
    std::map<std::uint32_t, std::string> client_of_connection;  // the address that sent a connection's first packet
    std::map<std::pair<std::uint32_t, std::uint64_t>, inspect::StreamDecoder> streams;
    int exit_code = 0;

    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);)
    {
        const auto columns = split(line, '\t');
        if (columns.size() != kFields.size())
            die("unexpected tshark output: " + line);
        const std::uint64_t frame = to_number(columns[kFrame], "frame.number", 0);
        if (columns[kConnection].empty())
            continue;  // QUIC it could not tie to a connection
        const auto connection =
            static_cast<std::uint32_t>(to_number(split(columns[kConnection], ',')[0], "connection", frame));
        const std::string source =
            (columns[kIpSource].empty() ? columns[kIpv6Source] : columns[kIpSource]) + ":" + columns[kPort];
        const bool from_client = client_of_connection.emplace(connection, source).first->second == source;
        Seen seen;
        seen.time = std::strtod(columns[kTime].c_str(), nullptr);
        seen.frame = frame;
        seen.connection = connection;
        seen.from_client = from_client;

        if (!columns[kStreamId].empty())
        {
            const auto ids = split(columns[kStreamId], ',');
            const auto offs = split(columns[kStreamOff], ',');
            const auto fins = split(columns[kStreamFin], ',');
            const auto datas = split(columns[kStreamData], ',');
            const auto offsets =
                columns[kStreamOffset].empty() ? std::vector<std::string>{} : split(columns[kStreamOffset], ',');
            if (offs.size() != ids.size() || fins.size() != ids.size() || datas.size() != ids.size())
            {
                std::fprintf(stderr, "eustress-inspect: frame %llu: cannot pair the STREAM frames' fields\n",
                             static_cast<unsigned long long>(frame));
                exit_code = 1;
                continue;
            }
            std::size_t next_offset = 0;
            for (std::size_t i = 0; i < ids.size(); ++i)
            {
                const std::uint64_t stream_id = to_number(ids[i], "quic.stream.stream_id", frame);
                std::uint64_t offset = 0;
                if (is_true(offs[i]))
                {
                    if (next_offset >= offsets.size())
                        die("frame " + std::to_string(frame) + ": a STREAM frame's offset is missing");
                    offset = to_number(offsets[next_offset++], "quic.stream.offset", frame);
                }
                if ((stream_id & 0x2) == 0)
                    continue;  // a bidirectional stream: the DATAGRAM anchor (docs/DESIGN.md), no session records
                const auto data = from_hex(datas[i]);
                if (!data && !is_true(fins[i]) && datas[i].find_first_of("0123456789abcdefABCDEF") == std::string::npos)
                    continue;  // an empty STREAM frame: nothing to decode
                if (!data)
                    die("frame " + std::to_string(frame) + ": stream data is not hex");
                auto [decoder, _] = streams.try_emplace({connection, stream_id}, channels);
                seen.stream_id = stream_id;
                seen.from_client = (stream_id & 0x1) == 0;  // the initiator's bit: our streams go one way
                for (auto& record : decoder->second.add(offset, *data, is_true(fins[i])))
                {
                    seen.record = std::move(record);
                    exit_code |= seen.record.error.empty() ? 0 : 2;
                    printer.print(seen);
                }
            }
        }
        if (!columns[kDatagram].empty())
        {
            seen.stream_id.reset();
            seen.from_client = from_client;
            for (const auto& hex : split(columns[kDatagram], ','))
            {
                const auto data = from_hex(hex);
                if (!data)
                    die("frame " + std::to_string(frame) + ": datagram is not hex");
                for (auto& record : inspect::decode_datagram_frame(*data, channels, snapshot_channel))
                {
                    seen.record = std::move(record);
                    exit_code |= seen.record.error.empty() ? 0 : 2;
                    printer.print(seen);
                }
            }
        }
    }
    for (const auto& [key, decoder] : streams)
        if (decoder.incomplete_bytes() > 0)
            std::fprintf(stderr,
                         "eustress-inspect: connection %u stream %llu: %zu bytes of a record the capture "
                         "does not finish\n",
                         key.first, static_cast<unsigned long long>(key.second), decoder.incomplete_bytes());
    if (printer.printed() == 0)
        std::fprintf(stderr, "eustress-inspect: no decrypted stream or datagram data in the capture (%s)\n",
                     options.key_log.empty() ? "no --key-log given" : "does the key log belong to this capture?");
    return exit_code;
}

// ---- qlog -----------------------------------------------------------------------------------------------------

/// What the stream id alone says: its initiator and direction, and the control stream (each side opens it first).
std::string stream_label(std::uint64_t id)
{
    const bool unidirectional = (id & 0x2) != 0;
    const char* side = (id & 0x1) != 0 ? "server" : "client";
    if (!unidirectional)
        return std::string(side) + " DATAGRAM anchor";
    if (id == 2 || id == 3)
        return "control";
    return std::string(side) + " channel stream or lane";
}

std::string describe_frame(const json& frame)
{
    const std::string type = frame.value("frame_type", "?");
    std::string text = type;
    if (type == "stream" && frame.contains("stream_id"))
    {
        const auto id = frame["stream_id"].get<std::uint64_t>();
        text += " " + std::to_string(id) + " (" + stream_label(id) + ")";
        text += " offset " + std::to_string(frame.value("offset", std::uint64_t{0}));
        text += " length " + std::to_string(frame.value("length", std::uint64_t{0}));
        if (frame.value("fin", false))
            text += " fin";
    }
    else if (type == "ack" && frame.contains("acked_ranges"))
    {
        text += " ";
        for (const auto& range : frame["acked_ranges"])
            text += range.size() == 2 ? "[" + range[0].dump() + "-" + range[1].dump() + "]" : range.dump();
    }
    else if (type == "datagram")
        text += " " + std::to_string(frame.value("length", std::uint64_t{0})) + " bytes (unreliable channels)";
    else if (type == "crypto")
        text += " offset " + std::to_string(frame.value("offset", std::uint64_t{0})) + " length " +
                std::to_string(frame.value("length", std::uint64_t{0}));
    else if (type == "connection_close")
        text += " " + frame.value("error_space", std::string()) + " code " + frame.value("error_code", json(0)).dump() +
                (frame.contains("reason") ? " " + frame["reason"].dump() : std::string());
    return text;
}

int inspect_qlog(const Options& options)
{
    std::ifstream in(options.qlog, std::ios::binary);
    if (!in)
        die("cannot read qlog '" + options.qlog + "': " + std::strerror(errno));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.empty() || text[0] != '\x1e')
        die("'" + options.qlog + "' is not JSON-SEQ qlog (it must start with a record separator)");
    int exit_code = 0;
    std::size_t index = 0;
    for (const auto& chunk : split(text.substr(1), '\x1e'))
    {
        ++index;
        const json record = json::parse(chunk, nullptr, false);
        if (record.is_discarded())
        {
            std::fprintf(stderr, "eustress-inspect: record %zu of %s is not JSON\n", index, options.qlog.c_str());
            exit_code = 2;
            continue;
        }
        const std::string name = record.value("name", "");
        if (name != "transport:packet_sent" && name != "transport:packet_received")
            continue;
        const json data = record.value("data", json::object());
        const json header = data.value("header", json::object());
        const json frames = data.value("frames", json::array());
        const bool sent = name == "transport:packet_sent";
        if (options.json)
        {
            json out = {{"time", record.value("time", 0.0)},
                        {"event", sent ? "sent" : "received"},
                        {"packet_type", header.value("packet_type", "?")},
                        {"packet_number", header.value("packet_number", json())},
                        {"frames", frames}};
            for (auto& frame : out["frames"])
                if (frame.value("frame_type", "") == "stream" && frame.contains("stream_id"))
                    frame["eustress_stream"] = stream_label(frame["stream_id"].get<std::uint64_t>());
            std::printf("%s\n", out.dump().c_str());
            continue;
        }
        std::string line;
        char head[96];
        std::snprintf(head, sizeof head, "%10.3f ms %s ", record.value("time", 0.0), sent ? "sent" : "received");
        line = head;
        line += header.value("packet_type", "?") + " pn " + header.value("packet_number", json("?")).dump() + ":";
        bool first = true;
        for (const auto& frame : frames)
        {
            line += (first ? " " : ", ") + describe_frame(frame);
            first = false;
        }
        std::printf("%s\n", line.c_str());
    }
    return exit_code;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-inspect: our frames from a capture (decrypted by tshark with the TLS key log), or a "
                 "qlog file's packets"};
    Options options;
    app.add_option("capture", options.capture, "pcap or pcapng file (tshark -i lo -f 'udp port N' -w FILE)");
    app.add_option("--key-log", options.key_log, "TLS key log the apps wrote (--key-log FILE)");
    app.add_option("--qlog", options.qlog, "summarise this qlog file's packets instead of a capture");
    app.add_flag("--json", options.json, "one JSON object per line instead of text");
    app.add_option("--tshark", options.tshark, "the tshark to run (default: tshark on PATH)");
    app.add_option("--snapshot-channel", options.snapshot_channel,
                   "channel whose datagrams are replication snapshots (default: the replication table's; 64 = none)")
        ->check(CLI::Range(0, 64));
    CLI11_PARSE(app, argc, argv);
    if (options.capture.empty() == options.qlog.empty())
    {
        std::fprintf(stderr, "eustress-inspect: give a capture file or --qlog FILE (one of them)\n%s",
                     app.help().c_str());
        return 2;
    }
    return options.qlog.empty() ? inspect_capture(options) : inspect_qlog(options);
}
