#include "replication/entity_actions.hpp"

#include <limits>

#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::replication {

namespace {

constexpr std::uint8_t kBaselineRequest = 1;

}  // namespace

std::vector<std::byte> encode_actions(const ActionBatch& batch)
{
    wire::BitWriter writer;
    writer.write_bool(batch.registry_fingerprint.has_value());
    if (batch.registry_fingerprint)
        writer.write_bits(*batch.registry_fingerprint, 64);
    writer.write_varint(batch.tick);
    writer.write_varint(batch.actions.size());
    for (const EntityAction& action : batch.actions)
    {
        writer.write_bits(static_cast<std::uint8_t>(action.kind), 2);
        writer.write_varint(action.entity);
        switch (action.kind)
        {
        case ActionKind::Spawn:
            writer.write_bool(action.owned);
            write_entity_full(writer, *action.state);
            break;
        case ActionKind::Despawn:
            break;
        case ActionKind::Insert:
            writer.write_varint(action.component);
            write_fields(writer, action.state->fields_of(0), {});
            break;
        case ActionKind::Remove:
            writer.write_varint(action.component);
            break;
        }
    }
    return writer.bytes();
}

DecodeError decode_actions(std::span<const std::byte> bytes, const ComponentRegistry& registry, ActionBatch& out)
{
    wire::BitReader reader(bytes);
    const auto has_fingerprint = reader.read_bool();
    if (!has_fingerprint)
        return DecodeError::Truncated;
    if (*has_fingerprint)
    {
        const auto fingerprint = reader.read_bits(64);
        if (!fingerprint)
            return DecodeError::Truncated;
        out.registry_fingerprint = *fingerprint;
    }
    const auto tick = reader.read_varint();
    const auto count = reader.read_varint();
    if (!tick || !count)
        return DecodeError::Truncated;
    if (*tick > std::numeric_limits<Tick>::max())
        return DecodeError::BadHeader;
    if (*count > reader.bits_remaining() / 10)  // kind and entity take at least ten bits
        return DecodeError::TooManyEntries;
    out.tick = static_cast<Tick>(*tick);
    out.actions.clear();
    out.actions.reserve(static_cast<std::size_t>(*count));
    for (std::uint64_t i = 0; i < *count; ++i)
    {
        const auto kind = reader.read_bits(2);
        const auto entity = reader.read_varint();
        if (!kind || !entity)
            return DecodeError::Truncated;
        if (*entity == 0 || *entity > std::numeric_limits<std::uint32_t>::max())
            return DecodeError::EntityOutOfRange;
        EntityAction action;
        action.kind = static_cast<ActionKind>(*kind);
        action.entity = static_cast<std::uint32_t>(*entity);
        if (action.kind == ActionKind::Spawn)
        {
            const auto owned = reader.read_bool();
            if (!owned)
                return DecodeError::Truncated;
            action.owned = *owned;
            auto state = std::make_shared<QuantizedEntity>();
            if (const auto error = read_entity_full(reader, registry, *state); error != DecodeError::None)
                return error;
            action.state = std::move(state);
        }
        else if (action.kind == ActionKind::Insert || action.kind == ActionKind::Remove)
        {
            const auto component = reader.read_varint();
            if (!component)
                return DecodeError::Truncated;
            if (*component >= registry.size())
                return DecodeError::UnknownComponent;
            action.component = static_cast<ComponentId>(*component);
            if (action.kind == ActionKind::Insert)
            {
                // The full form of an entity with one component, minus the count and id already read.
                auto state = std::make_shared<QuantizedEntity>();
                state->offsets.assign(1, 0);
                state->begin_component(action.component);
                std::any scratch = registry.operations(action.component).make();
                WireFieldSource source(reader, {}, state->fields);
                if (!registry.operations(action.component).read(scratch, source))
                    return DecodeError::ComponentMalformed;
                state->end_component();
                action.state = std::move(state);
            }
        }
        out.actions.push_back(std::move(action));
    }
    if (reader.bits_remaining() >= 8)
        return DecodeError::TrailingBits;
    return DecodeError::None;
}

std::vector<std::byte> encode_baseline_request(std::uint32_t missing_sequence)
{
    std::vector<std::byte> bytes(1 + 8);
    wire::ByteWriter writer(bytes);
    const bool written = writer.write_u8(kBaselineRequest) && writer.write_varint(missing_sequence);
    bytes.resize(written ? writer.size() : 0);
    return bytes;
}

std::optional<std::uint32_t> decode_baseline_request(std::span<const std::byte> bytes)
{
    wire::ByteReader reader(bytes);
    const auto kind = reader.read_u8();
    const auto sequence = reader.read_varint();
    if (!kind || *kind != kBaselineRequest || !sequence || *sequence == 0 ||
        *sequence > std::numeric_limits<std::uint32_t>::max() || reader.remaining() != 0)
        return std::nullopt;
    return static_cast<std::uint32_t>(*sequence);
}

}  // namespace eustress::net::replication
