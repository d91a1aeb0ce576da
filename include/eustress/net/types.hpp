// Vocabulary types shared by every layer: time, identifiers, byte spans.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace eustress::net {

/// The library never reads a clock on its own: callers pass `now` into every `update`. This clock is what
/// applications use to produce that `now`; tests build `Timestamp`s from plain durations instead.
struct MonotonicClock
{
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<MonotonicClock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept;
};

using Duration = std::chrono::nanoseconds;
using Timestamp = MonotonicClock::time_point;

/// Builds a timestamp from a duration since an arbitrary epoch, as fake clocks in tests do.
constexpr Timestamp timestamp_from(Duration since_epoch) noexcept
{
    return Timestamp{since_epoch};
}

/// Identifies a connected client on a server. The server itself is `kServerId` on the client side.
enum class ClientId : std::uint64_t
{
};
inline constexpr ClientId kServerId{0};

/// Index of a channel in the channel table both ends declare at start-up.
using ChannelId = std::uint8_t;

/// Per-channel message sequence, returned by `send` and echoed by delivery notifications.
using MessageId = std::uint64_t;

using Bytes = std::span<const std::byte>;
using MutableBytes = std::span<std::byte>;

inline Bytes as_bytes_of(std::string_view text) noexcept
{
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace eustress::net
