#include "replication/entity_codec.hpp"

namespace eustress::net::replication {

namespace {

/// Decodes one component's fields by running its serialize function over the bit stream.
DecodeError read_component(wire::BitReader& reader, const ComponentRegistry& registry, ComponentId component,
                           std::span<const QuantizedField> baseline, QuantizedEntity& out)
{
    const auto& operations = registry.operations(component);
    std::any scratch = operations.make();
    out.begin_component(component);
    WireFieldSource source(reader, baseline, out.fields);
    if (!operations.read(scratch, source))
        return reader.bits_remaining() == 0 ? DecodeError::Truncated : DecodeError::ComponentMalformed;
    out.end_component();
    return DecodeError::None;
}

}  // namespace

void write_entity_full(wire::BitWriter& writer, const QuantizedEntity& entity)
{
    writer.write_varint(entity.components.size());
    int previous = -1;
    for (std::size_t i = 0; i < entity.components.size(); ++i)
    {
        writer.write_varint(static_cast<std::uint64_t>(entity.components[i] - previous - 1));
        previous = entity.components[i];
        write_fields(writer, entity.fields_of(i), {});
    }
}

void write_entity_delta(wire::BitWriter& writer, const QuantizedEntity& current, const QuantizedEntity& baseline)
{
    const bool same_components = current.same_components(baseline);
    writer.write_bool(same_components);
    if (!same_components)
    {
        write_entity_full(writer, current);
        return;
    }
    for (std::size_t i = 0; i < current.components.size(); ++i)
    {
        const auto fields = current.fields_of(i);
        const auto baseline_fields = baseline.fields_of(i);
        const bool changed = !std::equal(fields.begin(), fields.end(), baseline_fields.begin(), baseline_fields.end());
        writer.write_bool(changed);
        if (changed)
            write_fields(writer, fields, baseline_fields);
    }
}

DecodeError read_entity_full(wire::BitReader& reader, const ComponentRegistry& registry, QuantizedEntity& out)
{
    const auto count = reader.read_varint();
    if (!count)
        return DecodeError::Truncated;
    if (*count > registry.size())
        return DecodeError::UnknownComponent;
    out.offsets.assign(1, 0);
    std::int64_t previous = -1;
    for (std::uint64_t i = 0; i < *count; ++i)
    {
        const auto gap = reader.read_varint();
        if (!gap)
            return DecodeError::Truncated;
        if (*gap >= registry.size())
            return DecodeError::UnknownComponent;
        const std::int64_t component = previous + 1 + static_cast<std::int64_t>(*gap);
        if (component >= static_cast<std::int64_t>(registry.size()))
            return DecodeError::UnknownComponent;
        previous = component;
        if (const auto error = read_component(reader, registry, static_cast<ComponentId>(component), {}, out);
            error != DecodeError::None)
            return error;
    }
    return DecodeError::None;
}

DecodeError read_entity_delta(wire::BitReader& reader, const ComponentRegistry& registry,
                              const QuantizedEntity& baseline, QuantizedEntity& out)
{
    const auto same_components = reader.read_bool();
    if (!same_components)
        return DecodeError::Truncated;
    if (!*same_components)
        return read_entity_full(reader, registry, out);
    out.offsets.assign(1, 0);
    for (std::size_t i = 0; i < baseline.components.size(); ++i)
    {
        const auto changed = reader.read_bool();
        if (!changed)
            return DecodeError::Truncated;
        const ComponentId component = baseline.components[i];
        if (component >= registry.size())
            return DecodeError::UnknownComponent;
        if (*changed)
        {
            if (const auto error = read_component(reader, registry, component, baseline.fields_of(i), out);
                error != DecodeError::None)
                return error;
        }
        else
        {
            out.begin_component(component);
            const auto fields = baseline.fields_of(i);
            out.fields.insert(out.fields.end(), fields.begin(), fields.end());
            out.end_component();
        }
    }
    return DecodeError::None;
}

}  // namespace eustress::net::replication
