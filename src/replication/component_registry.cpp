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
    std::uint64_t hash = 0xcbf29ce484222325ull;
    const auto mix = [&hash](const void* data, std::size_t size) {
        const auto* bytes = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < size; ++i)
        {
            hash ^= bytes[i];
            hash *= 0x100000001b3ull;
        }
    };
    for (const Operations& component : m_components)
    {
        mix(component.name.data(), component.name.size());
        mix("\0", 1);
    }
    for (const FloatRange* range : {&m_transform.x, &m_transform.y, &m_transform.z})
    {
        mix(&range->min, sizeof range->min);
        mix(&range->max, sizeof range->max);
        mix(&range->resolution, sizeof range->resolution);
    }
    mix(&m_transform.rotation_bits, sizeof m_transform.rotation_bits);
    return hash;
}

}  // namespace eustress::net
