// Why replication refused bytes from the network; each is counted, and named in logs and docs/REPLICATION.md.
#pragma once

#include <cstddef>

namespace eustress::net::replication {

enum class DecodeError
{
    None,
    Truncated,           ///< the bits ended inside a field
    BadHeader,           ///< a header value out of its range
    MissingBaseline,     ///< delta against a snapshot we do not hold
    EntityOutOfRange,    ///< an entity id past 2^32 - 1 (or zero), or listed as new while the baseline holds it
    UnknownComponent,    ///< a component id the registry does not have
    ComponentOrder,      ///< component ids not strictly ascending
    ComponentMalformed,  ///< the component's serialize function refused its fields (range, length)
    TooManyEntries,      ///< more entries than the bits could hold
    TrailingBits,        ///< more than padding left after the last entry
    RegistryMismatch,    ///< the server registered other component types
};
/// How many DecodeError values there are (None included): RegistryMismatch is the last.
inline constexpr std::size_t kDecodeErrors = static_cast<std::size_t>(DecodeError::RegistryMismatch) + 1;

const char* to_string(DecodeError error) noexcept;

}  // namespace eustress::net::replication
