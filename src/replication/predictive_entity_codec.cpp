#include "replication/predictive_entity_codec.hpp"

#include <algorithm>

#include "replication/coded_bits_tally.hpp"
#include "replication/decision_trace.hpp"

namespace eustress::net::replication {

namespace {

unsigned width_of(const QuantizedField& field)
{
    return field.bits == 0 ? 64u : field.bits;
}

bool fits(std::uint64_t value, unsigned bits) noexcept
{
    return bits == 0 || bits >= 64 || (value >> bits) == 0;
}

/// The prediction for component `index` of the history's state, if one exists (into scratch.predicted).
bool predict_component(const EntityHistory& history, std::size_t index, Tick tick, PredictionScratch& scratch)
{
    if (!history.previous)
        return false;
    const auto before = history.previous->index_of(history.state->components[index]);
    if (!before)
        return false;
    return predict_fields({history.state->fields_of(index), history.previous->fields_of(*before), history.previous_tick,
                           history.tick, tick},
                          scratch.predicted);
}

template <typename Sink>
void code_fields(Sink& sink, ModelFor<Sink, FieldModels>& models, std::span<const QuantizedField> current,
                 std::span<const QuantizedField> baseline, const std::vector<std::uint64_t>* predicted)
{
    for (std::size_t i = 0; i < current.size(); ++i)
    {
        if (i < baseline.size() && baseline[i].bits == current[i].bits)
        {
            const std::uint64_t base = predicted ? (*predicted)[i] : baseline[i].value;
            code_residual(sink, models, i, predicted != nullptr, current[i].value, base, width_of(current[i]));
        }
        else
            code_integer(sink, models.raw[FieldModels::slot(i)], current[i].value);
    }
}

/// Roughly what coding against `base` costs: the residuals' bit lengths. Chooses prediction or baseline.
std::size_t residual_bits(std::span<const QuantizedField> current, std::span<const QuantizedField> baseline,
                          const std::vector<std::uint64_t>* predicted)
{
    std::size_t bits = 0;
    for (std::size_t i = 0; i < current.size() && i < baseline.size(); ++i)
    {
        if (baseline[i].bits != current[i].bits)
            continue;
        const std::uint64_t base = predicted ? (*predicted)[i] : baseline[i].value;
        const std::uint64_t difference = current[i].value - base;
        const std::uint64_t magnitude = static_cast<std::int64_t>(difference) < 0 ? 0 - difference : difference;
        bits += 2 * static_cast<std::size_t>(std::bit_width(magnitude));
    }
    return bits;
}

template <typename Sink> void code_full(Sink& sink, ModelFor<Sink, FieldModels>& models, const QuantizedEntity& entity)
{
    code_integer(sink, models.component_count, entity.components.size());
    int previous = -1;
    for (std::size_t i = 0; i < entity.components.size(); ++i)
    {
        code_integer(sink, models.component_gap, static_cast<std::uint64_t>(entity.components[i] - previous - 1));
        previous = entity.components[i];
        code_fields(sink, models, entity.fields_of(i), {}, nullptr);
    }
}

template <typename Sink>
void code_component_delta(Sink& sink, ModelFor<Sink, FieldModels>& models, std::span<const QuantizedField> fields,
                          const EntityHistory& history, std::size_t index, Tick tick, PredictionScratch& scratch)
{
    const auto baseline = history.state->fields_of(index);
    const std::size_t slot = FieldModels::component_slot(index);
    const bool changed = !std::equal(fields.begin(), fields.end(), baseline.begin(), baseline.end());
    sink.bit(models.changed[slot], changed ? 1u : 0u);
    if (!changed)
        return;
    bool use_prediction = false;
    if (predict_component(history, index, tick, scratch))
    {
        use_prediction = residual_bits(fields, baseline, &scratch.predicted) < residual_bits(fields, baseline, nullptr);
        sink.bit(models.predicted[slot], use_prediction ? 1u : 0u);
    }
    code_fields(sink, models, fields, baseline, use_prediction ? &scratch.predicted : nullptr);
}

/// Reads the fields a serialize function asks for, against the baseline (or predicted) field at each position.
class RangeFieldSource final : public FieldSource
{
  public:
    RangeFieldSource(RangeDecoder& decoder, FieldModels& models, std::span<const QuantizedField> baseline,
                     const std::vector<std::uint64_t>* predicted, FieldList& decoded) noexcept
        : m_decoder(decoder), m_models(models), m_baseline(baseline), m_predicted(predicted), m_decoded(decoded),
          m_first(decoded.size())
    {}
    std::optional<std::uint64_t> take(unsigned bits) override
    {
        if (bits > 64 || m_decoder.overrun())
            return std::nullopt;
        const std::size_t position = m_decoded.size() - m_first;
        const QuantizedField field{0, static_cast<std::uint8_t>(bits)};
        std::optional<std::uint64_t> value;
        if (position < m_baseline.size() && m_baseline[position].bits == bits)
        {
            const std::uint64_t base = m_predicted ? (*m_predicted)[position] : m_baseline[position].value;
            value = decode_residual(m_decoder, m_models, position, m_predicted != nullptr, base, width_of(field));
        }
        else
            value = decode_integer(m_decoder, m_models.raw[FieldModels::slot(position)]);
        if (!value || !fits(*value, bits))
            return std::nullopt;
        m_decoded.push_back({*value, static_cast<std::uint8_t>(bits)});
        return value;
    }
    EntityId map_entity(std::uint64_t server_entity) override
    {
        return EntityId{static_cast<std::uint32_t>(server_entity)};
    }

  private:
    RangeDecoder& m_decoder;
    FieldModels& m_models;
    std::span<const QuantizedField> m_baseline;
    const std::vector<std::uint64_t>* m_predicted;
    FieldList& m_decoded;
    std::size_t m_first;
};

DecodeError decode_component(RangeDecoder& decoder, FieldModels& models, const ComponentRegistry& registry,
                             ComponentId component, std::span<const QuantizedField> baseline,
                             const std::vector<std::uint64_t>* predicted, QuantizedEntity& out)
{
    const auto& operations = registry.operations(component);
    std::any scratch = operations.make();
    out.begin_component(component);
    RangeFieldSource source(decoder, models, baseline, predicted, out.fields);
    if (!operations.read(scratch, source))
        return decoder.overrun() ? DecodeError::Truncated : DecodeError::ComponentMalformed;
    out.end_component();
    return DecodeError::None;
}

DecodeError decode_full(RangeDecoder& decoder, FieldModels& models, const ComponentRegistry& registry,
                        QuantizedEntity& out)
{
    const auto count = decode_integer(decoder, models.component_count);
    if (!count)
        return DecodeError::ComponentMalformed;
    if (*count > registry.size())
        return DecodeError::UnknownComponent;
    out.offsets.assign(1, 0);
    std::uint64_t next = 0;  // the smallest id the next component may have
    for (std::uint64_t i = 0; i < *count; ++i)
    {
        const auto gap = decode_integer(decoder, models.component_gap);
        if (!gap)
            return DecodeError::ComponentMalformed;
        if (*gap >= registry.size() || next + *gap >= registry.size())
            return DecodeError::UnknownComponent;
        const auto component = static_cast<ComponentId>(next + *gap);
        next = next + *gap + 1;
        if (const auto error = decode_component(decoder, models, registry, component, {}, nullptr, out);
            error != DecodeError::None)
            return error;
    }
    return DecodeError::None;
}

}  // namespace

template <typename Sink>
void code_entity(Sink& sink, ModelFor<Sink, FieldModels>& models, const QuantizedEntity& current,
                 const EntityHistory* history, Tick tick, PredictionScratch& scratch)
{
    if (!history)
    {
        code_full(sink, models, current);
        return;
    }
    const bool same_components = current.same_components(*history->state);
    sink.bit(models.same_components, same_components ? 1u : 0u);
    if (!same_components)
    {
        code_full(sink, models, current);
        return;
    }
    for (std::size_t i = 0; i < current.components.size(); ++i)
        code_component_delta(sink, models, current.fields_of(i), *history, i, tick, scratch);
}

// EncodeSink and TallySink code an entity the estimate did not record (PredictiveSnapshotWriter::finish).
template void code_entity<EncodeSink>(EncodeSink&, FieldModels&, const QuantizedEntity&, const EntityHistory*, Tick,
                                      PredictionScratch&);
template void code_entity<TallySink>(TallySink&, FieldModels&, const QuantizedEntity&, const EntityHistory*, Tick,
                                     PredictionScratch&);
template void code_entity<TraceSink>(TraceSink&, const FieldModels&, const QuantizedEntity&, const EntityHistory*, Tick,
                                     PredictionScratch&);

DecodeError decode_entity(RangeDecoder& decoder, FieldModels& models, const ComponentRegistry& registry,
                          const EntityHistory* history, Tick tick, PredictionScratch& scratch, QuantizedEntity& out)
{
    if (!history)
        return decode_full(decoder, models, registry, out);
    if (decoder.decode(models.same_components) == 0)
        return decode_full(decoder, models, registry, out);
    const QuantizedEntity& baseline = *history->state;
    out.offsets.assign(1, 0);
    for (std::size_t i = 0; i < baseline.components.size(); ++i)
    {
        const ComponentId component = baseline.components[i];
        if (component >= registry.size())
            return DecodeError::UnknownComponent;
        const std::size_t slot = FieldModels::component_slot(i);
        const auto fields = baseline.fields_of(i);
        if (decoder.decode(models.changed[slot]) == 0)
        {
            out.begin_component(component);
            out.fields.insert(out.fields.end(), fields.begin(), fields.end());
            out.end_component();
            continue;
        }
        const bool predicted =
            predict_component(*history, i, tick, scratch) && decoder.decode(models.predicted[slot]) == 1;
        if (const auto error = decode_component(decoder, models, registry, component, fields,
                                                predicted ? &scratch.predicted : nullptr, out);
            error != DecodeError::None)
            return error;
    }
    return decoder.overrun() ? DecodeError::Truncated : DecodeError::None;
}

}  // namespace eustress::net::replication
