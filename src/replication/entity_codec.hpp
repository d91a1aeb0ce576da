// One entity's components on the wire, in full (spawns, entities new to a baseline) or against its baseline.
//
//   full:  varint count, then per component: varint (id − previous id − 1), its fields in full
//   delta: 1 bit "same components as the baseline"; if set, per component 1 bit "changed" then its fields against
//          the baseline's; if clear, the full form
#pragma once

#include "replication/decode_error.hpp"
#include "replication/field_codec.hpp"

namespace eustress::net::replication {

void write_entity_full(wire::BitWriter& writer, const QuantizedEntity& entity);
void write_entity_delta(wire::BitWriter& writer, const QuantizedEntity& current, const QuantizedEntity& baseline);

/// Reads what the writers above wrote into `out` (empty on entry). `baseline` is null for the full form.
DecodeError read_entity_full(wire::BitReader& reader, const ComponentRegistry& registry, QuantizedEntity& out);
DecodeError read_entity_delta(wire::BitReader& reader, const ComponentRegistry& registry,
                              const QuantizedEntity& baseline, QuantizedEntity& out);

}  // namespace eustress::net::replication
