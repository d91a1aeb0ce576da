// Per-channel compression (ChannelCompression) on realistic reliable game messages: bytes saved against CPU spent, for
// zstd's levels with and without a trained dictionary. The messages coded are not the ones trained on.
// Usage: eustress-bench-compression [messages] (default 30,000); run pinned to one core (bench/run.sh does).
// The table goes to stderr; stdout gets one JSON object per figure, as bench/summarize.py reads them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "session/game_messages.hpp"
#include "session/message_compression.hpp"

namespace {

using namespace eustress::net;
using Clock = std::chrono::steady_clock;

struct Row
{
    std::string name;
    ChannelCompression compression;
};

struct Figures
{
    double wire_ratio = 0;  // wire bytes / message bytes
    double encode_ns = 0;   // per message, median of the runs
    double decode_ns = 0;
};

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

Figures measure(const Row& row, const std::vector<std::vector<std::byte>>& messages)
{
    ChannelTable table;
    table.channels.push_back(
        {"events", ChannelKind::ReliableOrdered, 128, 0.0, 256 * 1024, 4 * 1024 * 1024, row.compression});
    auto compression = session::MessageCompression::create(table).value();
    std::vector<std::vector<std::byte>> wire(messages.size());
    std::vector<double> encode, decode;
    std::size_t raw = 0, coded = 0;
    for (int run = 0; run < 5; ++run)
    {
        raw = coded = 0;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < messages.size(); ++i)
        {
            const auto bytes = compression->encode(0, messages[i]);
            wire[i].assign(bytes.begin(), bytes.end());
            raw += messages[i].size();
            coded += bytes.size();
        }
        const auto middle = Clock::now();
        for (const auto& w : wire)
            if (!compression->decode(0, w, 256 * 1024))
                std::abort();
        const auto end = Clock::now();
        encode.push_back(std::chrono::duration<double, std::nano>(middle - start).count() / messages.size());
        decode.push_back(std::chrono::duration<double, std::nano>(end - middle).count() / messages.size());
    }
    return {static_cast<double>(coded) / static_cast<double>(raw), median(encode), median(decode)};
}

std::shared_ptr<const std::vector<std::byte>> dictionary_of(std::size_t size)
{
    const auto samples = testing::game_messages(20'000, 7);
    auto trained = train_compression_dictionary(samples, size);
    if (!trained)
    {
        std::fprintf(stderr, "%s\n", trained.error().message.c_str());
        std::exit(1);
    }
    return std::make_shared<const std::vector<std::byte>>(std::move(trained).value());
}

}  // namespace

int main(int argc, char** argv)
{
    const std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 30'000;
    const auto messages = testing::game_messages(count, 2026);
    std::size_t total = 0;
    for (const auto& m : messages)
        total += m.size();
    std::fprintf(stderr, "%zu messages (chat, events, inventory), mean %.1f bytes; trained on 20,000 others\n\n", count,
                 static_cast<double>(total) / static_cast<double>(count));
    const auto d4 = dictionary_of(4 * 1024), d8 = dictionary_of(8 * 1024), d16 = dictionary_of(16 * 1024);
    const std::vector<Row> rows{
        {"zstd level 1, no dictionary", {true, 1, nullptr}}, {"zstd level 3, no dictionary", {true, 3, nullptr}},
        {"zstd level 1, 4 KiB dictionary", {true, 1, d4}},   {"zstd level 3, 8 KiB dictionary", {true, 3, d8}},
        {"zstd level 3, 16 KiB dictionary", {true, 3, d16}}, {"zstd level 9, 16 KiB dictionary", {true, 9, d16}}};
    std::fprintf(stderr, "| coding | wire / message bytes | bytes saved | encode ns/message | decode ns/message |\n");
    std::fprintf(stderr, "|---|---|---|---|---|\n");
    for (const auto& row : rows)
    {
        const auto figures = measure(row, messages);
        std::fprintf(stderr, "| %s | %.3f | %.1f%% | %.0f | %.0f |\n", row.name.c_str(), figures.wire_ratio,
                     100.0 * (1.0 - figures.wire_ratio), figures.encode_ns, figures.decode_ns);
        const char* format = "{\"bench\": \"zstd\", \"metric\": \"%s: %s\", \"unit\": \"%s\", \"value\": %.3f}\n";
        std::printf(format, row.name.c_str(), "wire/raw", "ratio", figures.wire_ratio);
        std::printf(format, row.name.c_str(), "encode", "ns/message", figures.encode_ns);
        std::printf(format, row.name.c_str(), "decode", "ns/message", figures.decode_ns);
    }
    return 0;
}
