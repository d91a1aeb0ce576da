#include "base/fnv1a.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net {

ComponentRegistry::ComponentRegistry(TransformQuantization transform) : m_transform(transform)
{
    // The pose travels as quantized position and smallest-three rotation; its tick comes from the snapshot.
    add<NetworkTransform>("eustress.transform", [transform](auto& stream, NetworkTransform& value) {
        return stream.vector(value.position, transform.x, transform.y, transform.z) &&
               stream.quaternion(value.rotation, transform.rotation_bits);
    });
}

ComponentId ComponentRegistry::add_operations(Operations operations)
{
    const auto id = static_cast<ComponentId>(m_components.size());
    m_ids.emplace(operations.type, id);
    m_components.push_back(std::move(operations));
    return id;
}

std::uint64_t ComponentRegistry::fingerprint() const noexcept
{
    // FNV-1a over names and order; the quantization of the transform is part of its layout.
    Fnv1a hash;
    for (const Operations& component : m_components)
    {
        hash.add(std::as_bytes(std::span(component.name)));
        hash.add(std::uint8_t{0});
    }
    for (const FloatRange* range : {&m_transform.x, &m_transform.y, &m_transform.z})
    {
        hash.add_object(range->min);
        hash.add_object(range->max);
        hash.add_object(range->resolution);
    }
    hash.add_object(m_transform.rotation_bits);
    return hash.value();
}

}  // namespace eustress::net
