// Byte compatibility of the browser session with the TypeScript client (web/src/session_wire.ts), both ways:
//   browser_vectors write VECTORS.json DIR   encodes the agreed values into DIR/cpp/*.bin (what the server sends,
//                                            and a hello and messages as a browser would send them)
//   browser_vectors check VECTORS.json DIR   decodes DIR/ts/*.bin (what the TypeScript code wrote) and checks
//                                            every value, and that our own encoding is byte for byte the same
// web/test/vectors.test.mjs does the mirror image; ctest runs write, node, check in that order (tests/CMakeLists).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "mirror_vectors.hpp"
#include "replication/snapshot.hpp"
#include "session/browser_wire.hpp"

using namespace eustress::net;
using nlohmann::json;

namespace {

int g_failures = 0;

void expect(bool ok, const std::string& what)
{
    if (!ok)
    {
        std::fprintf(stderr, "FAIL: %s\n", what.c_str());
        ++g_failures;
    }
}

std::vector<std::byte> from_hex(const std::string& hex)
{
    std::vector<std::byte> bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<std::byte>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

ChannelTable table_of(const json& spec)
{
    ChannelTable table;
    for (const auto& kind : spec["channels"])
        table.channels.push_back(ChannelConfig{.name = "c", .kind = static_cast<ChannelKind>(kind.get<int>())});
    return table;
}

session::Hello hello_of(const json& spec)
{
    session::Hello hello;
    hello.version = spec["hello"]["version"].get<std::uint8_t>();
    hello.channel_fingerprint = std::stoull(spec["hello"]["fingerprint"].get<std::string>());
    hello.connect_token = from_hex(spec["hello"]["token_hex"]);
    hello.build_id = spec["hello"]["build_id"];
    return hello;
}

std::vector<std::pair<std::string, std::vector<std::byte>>> encode_all(const json& spec)
{
    const auto table = table_of(spec);
    std::vector<std::pair<std::string, std::vector<std::byte>>> files;
    files.emplace_back("hello", session::write_browser_hello(hello_of(spec)));
    session::BrowserWelcome welcome{spec["welcome"]["client_id"].get<std::uint64_t>(), {}};
    for (const auto& kind : spec["welcome"]["channels"])
        welcome.channels.push_back(static_cast<ChannelKind>(kind.get<int>()));
    files.emplace_back("welcome", session::write_browser_welcome(welcome));
    for (const auto& message : spec["messages"])
    {
        const ChannelId channel = message["channel"].get<ChannelId>();
        const bool sequenced = table.channels.at(channel).kind == ChannelKind::UnreliableSequenced;
        files.emplace_back("message_" + message["name"].get<std::string>(),
                           session::write_browser_message(channel, sequenced, message["sequence"].get<std::uint16_t>(),
                                                          from_hex(message["payload_hex"])));
    }
    files.emplace_back("close", session::write_browser_close(spec["close"]["code"].get<std::uint8_t>(),
                                                             spec["close"]["reason"].get<std::string>()));
    files.emplace_back("ping", session::write_browser_ping());
    files.emplace_back("ack", session::write_browser_ack(spec["ack"]["received"].get<std::uint64_t>()));
    return files;
}

replication::QuantizedEntity entity_of(const json& components, const json& widths)
{
    replication::QuantizedEntity entity;
    std::vector<std::pair<int, json>> sorted;
    for (const auto& [id, values] : components.items())
        sorted.emplace_back(std::stoi(id), values);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, values] : sorted)
    {
        entity.begin_component(static_cast<ComponentId>(id));
        for (std::size_t i = 0; i < values.size(); ++i)
            entity.fields.push_back({values[i].get<std::uint64_t>(), widths[id][i].get<std::uint8_t>()});
        entity.end_component();
    }
    return entity;
}

/// Two snapshots of the agreed world, the second a delta against the first, as the server writes them.
std::vector<std::pair<std::string, std::vector<std::byte>>> encode_snapshots(const json& spec)
{
    const auto& snapshots = spec["snapshots"];
    const auto& widths = snapshots["components"];
    std::map<std::uint32_t, replication::QuantizedEntity> first_state;
    std::vector<std::pair<std::string, std::vector<std::byte>>> files;
    for (const char* name : {"first", "second"})
    {
        const auto& snapshot = snapshots[name];
        replication::SnapshotWriter writer;
        std::map<std::uint32_t, replication::QuantizedEntity> state;
        for (const auto& present : snapshot["present"])
        {
            const auto entity = present["entity"].get<std::uint32_t>();
            state[entity] = entity_of(present["components"], widths);
            const auto baseline = first_state.find(entity);
            const bool delta = snapshot["baseline"].get<int>() != 0 && baseline != first_state.end();
            writer.add_present(entity, state[entity], delta ? &baseline->second : nullptr);
        }
        for (const auto& removed : snapshot["removed"])
            writer.add_removed(removed.get<std::uint32_t>());
        replication::SnapshotHeader header;
        header.sequence = snapshot["sequence"].get<std::uint32_t>();
        header.tick = snapshot["tick"].get<Tick>();
        header.actions_required = snapshot["actions_required"].get<std::uint64_t>();
        header.baseline = snapshot["baseline"].get<std::uint32_t>();
        files.emplace_back(std::string("snapshot_") + name, writer.finish(header));
        if (std::string(name) == "first")
            first_state = state;
    }
    return files;
}

/// A bigger scene for the browser benchmark (web/tools/browser_bench.mjs): 256 entities with the layouts of
/// components 0 and 2 in full, then the same entities all moved a little, as a delta against it.
std::vector<std::pair<std::string, std::vector<std::byte>>> encode_scene(const json& spec)
{
    const auto& widths = spec["snapshots"]["components"];
    std::vector<replication::QuantizedEntity> before;
    std::vector<replication::QuantizedEntity> after;
    for (std::uint32_t i = 0; i < 256; ++i)
    {
        const std::uint64_t x = (i * 977u) % 65536, y = (i * 331u) % 65536, z = (i * 13u) % 65536;
        before.push_back(entity_of(json{{"0", {x, y, z, i}}, {"2", {i % 4096, i * 1000u}}}, widths));
        after.push_back(
            entity_of(json{{"0", {(x + 3) % 65536, (y + 200) % 65536, z, i}}, {"2", {i % 4096, i * 1000u}}}, widths));
    }
    replication::SnapshotWriter full;
    replication::SnapshotWriter delta;
    for (std::uint32_t i = 0; i < 256; ++i)
    {
        full.add_present(i + 1, before[i], static_cast<const replication::QuantizedEntity*>(nullptr));
        delta.add_present(i + 1, after[i], &before[i]);
    }
    return {{"scene_full", full.finish({1, 500, 0, 0})}, {"scene_delta", delta.finish({2, 501, 0, 1})}};
}

std::vector<std::byte> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    expect(static_cast<bool>(in), "cannot read " + path.string());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    return {bytes, bytes + text.size()};
}

void check_values(const std::string& name, const std::vector<std::byte>& bytes, const json& spec)
{
    const auto table = table_of(spec);
    auto parsed = session::parse_browser_frame(bytes, table);
    const auto* frame = std::get_if<session::BrowserFrame>(&parsed);
    expect(frame != nullptr, name + ": does not parse");
    if (!frame)
        return;
    if (const auto* hello = std::get_if<session::Hello>(frame))
    {
        const auto wanted = hello_of(spec);
        expect(hello->version == wanted.version && hello->channel_fingerprint == wanted.channel_fingerprint &&
                   hello->connect_token == wanted.connect_token && hello->build_id == wanted.build_id,
               name + ": hello values differ");
    }
    else if (const auto* message = std::get_if<session::BrowserMessage>(frame))
    {
        bool found = false;
        for (const auto& wanted : spec["messages"])
            if (name == "message_" + wanted["name"].get<std::string>())
            {
                const auto payload = from_hex(wanted["payload_hex"]);
                found = message->channel == wanted["channel"].get<ChannelId>() &&
                        message->sequence == wanted["sequence"].get<std::uint16_t>() &&
                        std::equal(payload.begin(), payload.end(), message->payload.begin(), message->payload.end());
            }
        expect(found, name + ": message values differ");
    }
    else if (const auto* ack = std::get_if<session::BrowserAck>(frame))
        expect(ack->received == spec["ack"]["received"].get<std::uint64_t>(), name + ": ack value differs");
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 4)
    {
        std::fprintf(stderr, "usage: browser_vectors write|check VECTORS.json DIR\n");
        return 2;
    }
    const std::string mode = argv[1];
    const json spec = json::parse(std::ifstream(argv[2]));
    const std::filesystem::path dir = argv[3];
    if (mode == "write")
    {
        std::filesystem::remove_all(dir);  // nothing from an earlier run may pass for this run's output
        std::filesystem::create_directories(dir / "cpp");
        auto files = encode_all(spec);
        for (auto& snapshot : encode_snapshots(spec))
            files.push_back(std::move(snapshot));
        for (auto& snapshot : encode_scene(spec))
            files.push_back(std::move(snapshot));
        for (const auto& [name, bytes] : files)
            std::ofstream(dir / "cpp" / (name + ".bin"), std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        testing::write_mirror_vectors(dir);
        testing::write_mirror_scene(dir);
        return 0;
    }
    // What a browser sends (hello, messages, ping): decoded, and byte-equal to our encoding of the same values.
    std::size_t checked = 0;
    for (const auto& [name, ours] : encode_all(spec))
    {
        if (name == "welcome" || name == "close")
            continue;  // only the server sends these; the TypeScript side checks it decodes them
        const auto theirs = read_file(dir / "ts" / (name + ".bin"));
        expect(theirs == ours, name + ": the TypeScript bytes differ from the C++ bytes");
        check_values(name, theirs, spec);
        ++checked;
    }
    g_failures += testing::check_mirror_vectors(dir);
    std::printf("%zu browser frames and the mirror's ack and baseline request from TypeScript checked, %d failures\n",
                checked, g_failures);
    return g_failures == 0 ? 0 : 1;
}
