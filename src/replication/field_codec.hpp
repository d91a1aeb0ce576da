// How quantized fields go on the wire: in full, or as a change against the same field of a baseline.
//
// Against a baseline field of the same width, one bit says "unchanged"; a change is sent as the zigzagged
// difference in 4, 8 or 12 bits (prefix 0, 10, 110) or the raw value (prefix 111). Fields of 4 bits or fewer are
// sent raw after the change bit. Variable-length fields send a varint difference. Both ends pair fields by
// position, so a serialize function whose layout depends on its values still decodes (its shifted fields are
// simply sent in full). docs/WIRE.md has the diagrams.
#pragma once

#include <span>
#include <vector>

#include "replication/quantized_entity.hpp"
#include "wire/bit_reader.hpp"
#include "wire/bit_writer.hpp"

namespace eustress::net::replication {

void write_fields(wire::BitWriter& writer, std::span<const QuantizedField> current,
                  std::span<const QuantizedField> baseline);

/// The ReadStream source for decoding: reads each field the serialize function asks for from the bit stream,
/// against the baseline component's field at the same position, and records it in `decoded`. Entity ids are
/// passed through unmapped (the mirror maps them when it materializes the component).
class WireFieldSource final : public FieldSource
{
  public:
    WireFieldSource(wire::BitReader& reader, std::span<const QuantizedField> baseline, FieldList& decoded) noexcept
        : m_reader(reader), m_baseline(baseline), m_decoded(decoded), m_first(decoded.size())
    {}
    std::optional<std::uint64_t> take(unsigned bits) override;
    EntityId map_entity(std::uint64_t server_entity) override
    {
        return EntityId{static_cast<std::uint32_t>(server_entity)};
    }

  private:
    std::optional<std::uint64_t> read_change(const QuantizedField& baseline, unsigned bits);

    wire::BitReader& m_reader;
    std::span<const QuantizedField> m_baseline;
    FieldList& m_decoded;
    std::size_t m_first;
};

}  // namespace eustress::net::replication
