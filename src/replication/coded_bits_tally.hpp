// Counts where the predictive format's bits go (CodedBits, ReplicationConfig::count_coded_bits) while coding:
// each decision is charged to the class of the model that codes it. A model's address tells its class, so the
// coding functions stay the same for every sink.
#pragma once

#include "eustress/net/replication.hpp"
#include "replication/field_models.hpp"

namespace eustress::net::replication {

static_assert(CodedBits::kFieldPositions == FieldModels::kSlots);

/// The class of the model at `model` inside `models`, as a pointer into `bits` to charge.
double& coded_bits_class(CodedBits& bits, const FieldModels& models, const void* model) noexcept;

/// Encodes as EncodeSink does and adds each decision's cost to `bits`. Direct bits follow the adaptive bit of
/// their integer (code_integer), so they are charged to the class of the model coded last.
struct TallySink
{
    RangeEncoder& encoder;
    const FieldModels& models;
    CodedBits& bits;
    double* last = nullptr;

    void bit(AdaptiveBit& model, unsigned value)
    {
        last = &coded_bits_class(bits, models, &model);
        *last += cost_of(model, value) / 256.0;
        encoder.encode(model, value);
    }
    void direct(std::uint32_t value, unsigned count)
    {
        if (last)
            *last += count;
        encoder.encode_direct(value, count);
    }
};

}  // namespace eustress::net::replication
