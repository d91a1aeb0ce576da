// A readable form of Document::canonical_state, for test failure messages.
#pragma once

#include <sstream>
#include <string>

#include "crdt/fragment_codec.hpp"
#include "eustress/net/crdt.hpp"
#include "wire/byte_reader.hpp"

namespace eustress::net::crdt::testing {

inline std::string describe_state(const Document& document)
{
    const auto state = document.canonical_state();
    wire::ByteReader reader(state);
    std::ostringstream out;
    const auto ranges = reader.read_varint().value_or(0);
    out << "context:";
    for (std::uint64_t i = 0; i < ranges; ++i)
    {
        const auto replica = reader.read_varint().value_or(0);
        const auto first = reader.read_varint().value_or(0);
        const auto last = reader.read_varint().value_or(0);
        out << ' ' << replica << ':' << first << '-' << last;
    }
    out << '\n';
    const auto count = reader.read_varint().value_or(0);
    Fragment fragment;
    std::uint64_t last_hlc = 0;
    const FragmentLimits limits{1u << 16, 1u << 20};
    const auto dots = [&out](const char* name, const std::vector<Dot>& list) {
        out << ' ' << name << '[';
        for (const Dot& dot : list)
            out << dot.replica << '.' << dot.counter << ' ';
        out << ']';
    };
    for (std::uint64_t i = 0; i < count; ++i)
    {
        if (read_fragment(reader, last_hlc, limits, fragment))
            return out.str() + "<unreadable>";
        out << "  " << key_replica(fragment.key) << '/' << key_sequence(fragment.key) << " kind "
            << static_cast<int>(fragment.kind) << " c" << fragment.component << " stamp " << fragment.stamp.hlc << '@'
            << fragment.stamp.replica;
        if (fragment.kind == FragmentKind::Entity)
        {
            dots("dots", fragment.dots);
            dots("removals", fragment.removals);
        }
        if (fragment.kind == FragmentKind::Counter)
            out << " +" << fragment.increments << " -" << fragment.decrements;
        if (fragment.kind == FragmentKind::SequenceInsert)
            out << " after " << fragment.origin.hlc << '@' << fragment.origin.replica;
        if (fragment.kind == FragmentKind::SequenceRemoval)
            out << " removed by " << fragment.removal.replica << '.' << fragment.removal.counter;
        if (fragment.kind == FragmentKind::Register || fragment.kind == FragmentKind::LogEntry ||
            fragment.kind == FragmentKind::SequenceInsert)
            out << " '" << std::string(reinterpret_cast<const char*>(fragment.bytes.data()), fragment.bytes.size())
                << "'";
        out << '\n';
    }
    return out.str();
}

}  // namespace eustress::net::crdt::testing
