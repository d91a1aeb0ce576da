#include "replication/quantized_entity.hpp"

#include <algorithm>

namespace eustress::net::replication {

namespace {

class FieldCollector final : public FieldSink
{
  public:
    explicit FieldCollector(FieldList& fields) : m_fields(fields) {}
    void put(std::uint64_t value, unsigned bits) override
    {
        m_fields.push_back({value, static_cast<std::uint8_t>(bits)});
    }

  private:
    FieldList& m_fields;
};

class FieldReplay final : public FieldSource
{
  public:
    FieldReplay(std::span<const QuantizedField> fields, const std::function<EntityId(std::uint64_t)>& map_entity)
        : m_fields(fields), m_map_entity(map_entity)
    {}
    std::optional<std::uint64_t> take(unsigned bits) override
    {
        if (m_next >= m_fields.size() || m_fields[m_next].bits != bits)
            return std::nullopt;
        return m_fields[m_next++].value;
    }
    EntityId map_entity(std::uint64_t server_entity) override { return m_map_entity(server_entity); }
    bool exhausted() const { return m_next == m_fields.size(); }

  private:
    std::span<const QuantizedField> m_fields;
    const std::function<EntityId(std::uint64_t)>& m_map_entity;
    std::size_t m_next = 0;
};

}  // namespace

std::optional<std::size_t> QuantizedEntity::index_of(ComponentId component) const
{
    const auto found = std::lower_bound(components.begin(), components.end(), component);
    if (found == components.end() || *found != component)
        return std::nullopt;
    return static_cast<std::size_t>(found - components.begin());
}

void QuantizedEntity::begin_component(ComponentId component)
{
    if (offsets.empty())
        offsets.push_back(0);
    components.push_back(component);
}

void QuantizedEntity::end_component()
{
    offsets.push_back(static_cast<std::uint32_t>(fields.size()));
}

void QuantizedEntity::abandon_component()
{
    components.pop_back();
    fields.resize(offsets.back());
}

QuantizedEntityPtr quantize_entity(const ComponentRegistry& registry,
                                   std::span<std::pair<ComponentId, std::any>> components, std::uint64_t& failures)
{
    auto entity = std::make_shared<QuantizedEntity>();
    quantize_entity_into(registry, components, failures, *entity);
    return entity;
}

void quantize_entity_into(const ComponentRegistry& registry, std::span<std::pair<ComponentId, std::any>> components,
                          std::uint64_t& failures, QuantizedEntity& out)
{
    out.components.clear();
    out.offsets.assign(1, 0);
    out.fields.clear();
    FieldCollector collector(out.fields);
    for (auto& [component, value] : components)
    {
        out.begin_component(component);
        if (registry.operations(component).write(value, collector))
            out.end_component();
        else
        {
            out.abandon_component();
            ++failures;
        }
    }
}

bool materialize_component(const ComponentRegistry& registry, ComponentId component,
                           std::span<const QuantizedField> fields, std::any& value,
                           const std::function<EntityId(std::uint64_t)>& map_entity)
{
    const auto& operations = registry.operations(component);
    std::any fresh = operations.make();
    FieldReplay replay(fields, map_entity);
    if (!operations.read(fresh, replay) || !replay.exhausted())
        return false;
    value = std::move(fresh);
    return true;
}

}  // namespace eustress::net::replication
