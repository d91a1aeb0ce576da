// FNV-1a, 64 bits: the one hash the project uses to tell whether two builds or two runs agree (the channel table's
// and the component registry's fingerprints, a benchmark's fingerprint of every byte received). Not a security
// measure, and not for hash tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace eustress::net {

class Fnv1a
{
  public:
    void add(std::uint8_t byte) noexcept { m_hash = (m_hash ^ byte) * 0x100000001b3ull; }
    void add(std::span<const std::byte> bytes) noexcept
    {
        for (std::byte byte : bytes)
            add(static_cast<std::uint8_t>(byte));
    }
    /// Any object's bytes as they lie in memory (the same on both ends of a fingerprint: same build conventions).
    template <typename T> void add_object(const T& value) noexcept { add(std::as_bytes(std::span(&value, 1))); }
    /// `value`'s eight bytes, least significant first, whatever the machine's byte order.
    void add_little_endian(std::uint64_t value) noexcept
    {
        for (int i = 0; i < 8; ++i)
            add(static_cast<std::uint8_t>(value >> (8 * i)));
    }
    std::uint64_t value() const noexcept { return m_hash; }

  private:
    std::uint64_t m_hash = 0xcbf29ce484222325ull;
};

}  // namespace eustress::net
