// Realistic reliable game messages for compression tests and the benchmark: chat lines, JSON-like game events and
// inventory updates, as a game would send them, with the variety of a real match (names, numbers, items).
#pragma once

#include <array>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace eustress::net::testing {

inline std::vector<std::byte> to_message(const std::string& text)
{
    std::vector<std::byte> bytes(text.size());
    for (std::size_t i = 0; i < text.size(); ++i)
        bytes[i] = static_cast<std::byte>(text[i]);
    return bytes;
}

/// `count` messages: a third each of chat, events and inventory updates, the same for the same `seed`.
inline std::vector<std::vector<std::byte>> game_messages(std::size_t count, std::uint32_t seed)
{
    static constexpr std::array<const char*, 12> kWords{"gg",   "anyone", "up",   "for", "another", "round",
                                                        "push", "mid",    "rush", "b",   "need",    "heals"};
    static constexpr std::array<const char*, 6> kItems{"health_potion", "mana_potion", "iron_sword",
                                                       "oak_shield",    "arrow",       "gold_coin"};
    static constexpr std::array<const char*, 5> kEvents{"kill", "assist", "capture", "pickup", "respawn"};
    std::mt19937 random(seed);
    auto pick = [&random](std::size_t n) {
        return static_cast<std::size_t>(random() % n);
    };
    std::vector<std::vector<std::byte>> messages;
    for (std::size_t i = 0; i < count; ++i)
    {
        std::string text;
        switch (i % 3)
        {
        case 0:
            text = "{\"type\":\"chat\",\"from\":\"player_" + std::to_string(pick(64)) + "\",\"text\":\"";
            for (std::size_t w = 0, words = 2 + pick(8); w < words; ++w)
                text += std::string(w ? " " : "") + kWords[pick(kWords.size())];
            text += "\"}";
            break;
        case 1:
            text = "{\"type\":\"" + std::string(kEvents[pick(kEvents.size())]) +
                   "\",\"actor\":" + std::to_string(1000 + pick(64)) +
                   ",\"target\":" + std::to_string(1000 + pick(64)) + ",\"position\":[" + std::to_string(pick(4000)) +
                   "," + std::to_string(pick(200)) + "," + std::to_string(pick(4000)) +
                   "],\"tick\":" + std::to_string(50000 + i) + "}";
            break;
        default:
            text = "{\"type\":\"inventory\",\"player\":" + std::to_string(1000 + pick(64)) +
                   ",\"slot\":" + std::to_string(pick(40)) + ",\"item\":\"" + kItems[pick(kItems.size())] +
                   "\",\"count\":" + std::to_string(1 + pick(99)) + ",\"durability\":0." + std::to_string(pick(100)) +
                   "}";
        }
        messages.push_back(to_message(text));
    }
    return messages;
}

}  // namespace eustress::net::testing
