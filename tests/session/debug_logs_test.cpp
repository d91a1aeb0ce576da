// The debugging aids on QuicConfig: the TLS key log (what Wireshark needs to decrypt a capture) and qlog files.
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "session_harness.hpp"
#include "transport/quic_connection.hpp"

namespace eustress::net::testing {
namespace {

namespace fs = std::filesystem;

/// A fresh, empty directory, removed with the test.
struct TemporaryDirectory
{
    fs::path path;
    TemporaryDirectory()
    {
        std::string pattern = (fs::temp_directory_path() / "eustress-debug-logs-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~TemporaryDirectory() { fs::remove_all(path); }
};

struct KeyLogLine
{
    std::string label;
    std::string client_random;
    std::string secret;
};

std::vector<KeyLogLine> read_key_log(const fs::path& path)
{
    std::vector<KeyLogLine> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
    {
        std::istringstream fields(line);
        KeyLogLine parsed;
        std::string extra;
        fields >> parsed.label >> parsed.client_random >> parsed.secret;
        EXPECT_FALSE(fields >> extra) << "more than three fields: " << line;
        lines.push_back(parsed);
    }
    return lines;
}

const std::set<std::string> kQuicLabels = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                           "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};

std::map<std::string, KeyLogLine> by_label(const std::vector<KeyLogLine>& lines)
{
    std::map<std::string, KeyLogLine> found;
    for (const auto& line : lines)
        found[line.label] = line;
    return found;
}

bool is_lower_hex(const std::string& text)
{
    return !text.empty() && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(KeyLog, BothEndsLogTheSecretsQuicNeedsUnderTheHandshakesClientRandom)
{
    TemporaryDirectory directory;
    ServerConfig server_config;
    server_config.quic.key_log_file = directory.path / "server.keys";
    SessionWorld world(server_config);
    auto config = world.client_config();
    config.quic.key_log_file = directory.path / "client.keys";
    Client& client = world.add_client(config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));

    const auto server_lines = read_key_log(directory.path / "server.keys");
    const auto client_lines = read_key_log(directory.path / "client.keys");
    const auto server_secrets = by_label(server_lines);
    const auto client_secrets = by_label(client_lines);
    for (const auto& label : kQuicLabels)
    {
        ASSERT_TRUE(server_secrets.count(label)) << "server did not log " << label;
        ASSERT_TRUE(client_secrets.count(label)) << "client did not log " << label;
        // The two ends derived the same secret for the same handshake, named by the same 32-byte client random.
        EXPECT_EQ(server_secrets.at(label).secret, client_secrets.at(label).secret) << label;
        EXPECT_EQ(server_secrets.at(label).client_random, client_secrets.at(label).client_random) << label;
        EXPECT_EQ(client_secrets.at(label).client_random.size(), 64u);
        EXPECT_TRUE(is_lower_hex(client_secrets.at(label).client_random));
        const std::size_t secret_digits = client_secrets.at(label).secret.size();
        EXPECT_TRUE(secret_digits == 64 || secret_digits == 96) << "a SHA-256 or SHA-384 suite's secret";
        EXPECT_TRUE(is_lower_hex(client_secrets.at(label).secret));
    }
    for (const auto& line : client_lines)
        EXPECT_EQ(line.client_random, client_lines.front().client_random) << "one handshake, one client random";
    EXPECT_NE(client_secrets.at("CLIENT_TRAFFIC_SECRET_0").secret, client_secrets.at("SERVER_TRAFFIC_SECRET_0").secret);
}

TEST(KeyLog, ConnectionsSharingAFileAppendWholeLinesEach)
{
    TemporaryDirectory directory;
    const fs::path shared = directory.path / "shared.keys";
    ServerConfig server_config;
    server_config.quic.key_log_file = shared;
    SessionWorld world(server_config);
    auto config = world.client_config();
    config.quic.key_log_file = shared;
    Client& first = world.add_client(config, "10.0.0.2:5000");
    Client& second = world.add_client(config, "10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return first.is_connected() && second.is_connected(); }));

    const auto lines = read_key_log(shared);
    std::map<std::string, std::multiset<std::string>> labels_by_random;
    for (const auto& line : lines)
    {
        EXPECT_TRUE(is_lower_hex(line.client_random)) << line.label;
        EXPECT_TRUE(is_lower_hex(line.secret)) << line.label;
        labels_by_random[line.client_random].insert(line.label);
    }
    ASSERT_EQ(labels_by_random.size(), 2u) << "two handshakes";
    for (const auto& [random, labels] : labels_by_random)
        for (const auto& label : kQuicLabels)
            EXPECT_EQ(labels.count(label), 2u) << label << ": logged once by each end";
}

TEST(KeyLog, IsOffByDefaultAndPerEnd)
{
    EXPECT_TRUE(QuicConfig{}.key_log_file.empty());
    TemporaryDirectory directory;
    ServerConfig server_config;
    server_config.quic.key_log_file = directory.path / "server.keys";
    SessionWorld world(server_config);
    Client& client = world.add_client(world.client_config(), "10.0.0.2:5000");  // default: no key log
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));

    // Only the server's own lines: each label once, and no other file appeared.
    std::multiset<std::string> labels;
    for (const auto& line : read_key_log(directory.path / "server.keys"))
        labels.insert(line.label);
    for (const auto& label : kQuicLabels)
        EXPECT_EQ(labels.count(label), 1u) << label;
    EXPECT_EQ(std::distance(fs::directory_iterator(directory.path), fs::directory_iterator{}), 1);
}

TEST(KeyLog, AnUnwritablePathIsAnErrorAtStartUp)
{
    ServerConfig server_config;
    server_config.quic.key_log_file = "/nonexistent-directory/keys";
    server_config.development_certificate_directory = test_certificate_directory();
    MemoryNetwork network;
    auto created = Server::create(server_config, std::move(network.bind(memory_address("10.0.0.1:1"))).value(),
                                  timestamp_from(std::chrono::seconds(1)));
    ASSERT_FALSE(created.ok());
    EXPECT_NE(created.error().message.find("/nonexistent-directory/keys"), std::string::npos);
}

/// The records of a JSON-SEQ file (RFC 7464: each record starts with the RS character).
std::vector<std::string> json_seq_records(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> records;
    std::size_t start = text.find('\x1e');
    EXPECT_EQ(start, 0u) << "a JSON-SEQ file starts with a record separator";
    while (start != std::string::npos)
    {
        const std::size_t next = text.find('\x1e', start + 1);
        records.push_back(text.substr(start + 1, next == std::string::npos ? std::string::npos : next - start - 1));
        start = next;
    }
    return records;
}

TEST(Qlog, EachEndWritesOneCompleteJsonSeqFileNamedByRoleAndOriginalConnectionId)
{
    TemporaryDirectory directory;
    ServerConfig server_config;
    server_config.quic.qlog_directory = directory.path;
    {
        SessionWorld world(server_config);
        auto config = world.client_config();
        config.quic.qlog_directory = directory.path;
        Client& client = world.add_client(config, "10.0.0.2:5000");
        ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
        ASSERT_TRUE(client.send(0, as_bytes_of("hello qlog"), world.now).ok());
        ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "hello qlog"); }));
        client.disconnect("done", world.now);
        world.run_until([&] { return !world.server_events_of<DisconnectedEvent>().empty(); });
    }  // the connections end with the world: their files must be complete now

    std::map<std::string, fs::path> files;
    for (const auto& entry : fs::directory_iterator(directory.path))
        files[entry.path().filename().string()] = entry.path();
    ASSERT_EQ(files.size(), 2u);
    const std::string client_name = files.begin()->first;
    const std::string server_name = std::next(files.begin())->first;
    ASSERT_EQ(client_name.rfind("client-", 0), 0u) << client_name;
    ASSERT_EQ(server_name.rfind("server-", 0), 0u) << server_name;
    EXPECT_EQ(client_name.substr(7), server_name.substr(7)) << "both ends name the file by the same original id";
    EXPECT_EQ(client_name.size(), 7 + 2 * transport::QuicConnection::kConnectionIdLength + 6)
        << "the connection id in hex, .sqlog";

    for (const auto& [name, path] : files)
    {
        const auto records = json_seq_records(path);
        ASSERT_GT(records.size(), 3u) << name;
        std::set<std::string> event_names;
        for (const auto& record : records)
        {
            const auto parsed = nlohmann::json::parse(record, nullptr, false);
            ASSERT_FALSE(parsed.is_discarded()) << name << ": not JSON: " << record;
            if (parsed.contains("name"))
                event_names.insert(parsed["name"].get<std::string>());
        }
        EXPECT_TRUE(nlohmann::json::parse(records.front()).contains("qlog_version")) << name;
        EXPECT_TRUE(event_names.count("transport:packet_sent")) << name;
        EXPECT_TRUE(event_names.count("transport:packet_received")) << name;
    }
}

}  // namespace
}  // namespace eustress::net::testing
