// A component's bytes in the document: its ComponentRegistry serialize function's quantized fields, bit-packed
// with the wire layer's BitWriter (variable-length fields as varints), so the document stores what replication
// would send and both ends decode with the same function.
#include "eustress/net/crdt.hpp"
#include "wire/bit_reader.hpp"
#include "wire/bit_writer.hpp"

namespace eustress::net::crdt {

namespace {

class BitSink final : public FieldSink
{
  public:
    explicit BitSink(wire::BitWriter& writer) noexcept : m_writer(writer) {}
    void put(std::uint64_t value, unsigned bits) override
    {
        if (bits == 0)
            m_writer.write_varint(value);
        else
            m_writer.write_bits(value, bits);
    }

  private:
    wire::BitWriter& m_writer;
};

class BitSource final : public FieldSource
{
  public:
    explicit BitSource(wire::BitReader& reader) noexcept : m_reader(reader) {}
    std::optional<std::uint64_t> take(unsigned bits) override
    {
        return bits == 0 ? m_reader.read_varint() : m_reader.read_bits(bits);
    }
    EntityId map_entity(std::uint64_t entity) override { return EntityId{static_cast<std::uint32_t>(entity)}; }

  private:
    wire::BitReader& m_reader;
};

}  // namespace

bool encode_component(const ComponentRegistry& registry, ComponentId component, std::any value,
                      std::vector<std::byte>& out)
{
    if (component >= registry.size())
        return false;
    wire::BitWriter writer;
    BitSink sink(writer);
    if (!registry.operations(component).write(value, sink))
        return false;
    out = writer.seal();
    return true;
}

std::optional<std::any> decode_component(const ComponentRegistry& registry, ComponentId component, Bytes bytes)
{
    if (component >= registry.size())
        return std::nullopt;
    const auto& operations = registry.operations(component);
    wire::BitReader reader(bytes);
    BitSource source(reader);
    std::any value = operations.make();
    // Only the padding of the last byte may remain: anything more is not this component's encoding.
    if (!operations.read(value, source) || reader.bits_remaining() >= 8)
        return std::nullopt;
    return value;
}

}  // namespace eustress::net::crdt
