// One entity in the predictive snapshot format (docs/REPLICATION.md, "The predictive format"), coded with the
// adaptive models of field_models.hpp.
//
//   against a baseline entry: bit "same components"; if set, per component: bit "changed"; if changed and a
//     prediction exists (prediction.hpp): bit "predicted"; then each field as its residual against the predicted
//     or baseline value at the same position (same width), or raw where the baseline has no such field
//   in full (no baseline entry, or other components): component count, per component (id − previous id − 1),
//     then each field raw
#pragma once

#include "replication/decode_error.hpp"
#include "replication/field_models.hpp"
#include "replication/prediction.hpp"

namespace eustress::net::replication {

/// What both ends hold of an entity: its baseline entry, and the state that entry replaced.
struct EntityHistory
{
    // The pointers first, then the ticks: 24 bytes, not 32 with padding after each tick. The server keeps one per
    // entity a client knows, per snapshot record, and copies a record's worth each snapshot.
    const QuantizedEntity* state = nullptr;
    const QuantizedEntity* previous = nullptr;  ///< null: none
    Tick tick = 0;
    Tick previous_tick = 0;
};

/// Scratch space for one coder, reused between entities.
struct PredictionScratch
{
    std::vector<std::uint64_t> predicted;
};

template <typename Sink>
void code_entity(Sink& sink, ModelFor<Sink, FieldModels>& models, const QuantizedEntity& current,
                 const EntityHistory* history, Tick tick, PredictionScratch& scratch);

DecodeError decode_entity(RangeDecoder& decoder, FieldModels& models, const ComponentRegistry& registry,
                          const EntityHistory* history, Tick tick, PredictionScratch& scratch, QuantizedEntity& out);

}  // namespace eustress::net::replication
