// Input packets: the newest input in full, each older one as a single bit when it repeats the one before it (held
// keys and idle sticks repeat most of the time), else in full.
#include <utility>
#include <vector>

#include "eustress/net/prediction.hpp"
#include "wire/bit_reader.hpp"
#include "wire/bit_writer.hpp"

namespace eustress::net::detail {

namespace {

using Fields = std::vector<std::pair<std::uint64_t, unsigned>>;

class Collector final : public FieldSink
{
  public:
    explicit Collector(Fields& fields) : m_fields(fields) {}
    void put(std::uint64_t value, unsigned bits) override { m_fields.emplace_back(value, bits); }

  private:
    Fields& m_fields;
};

class BitSource final : public FieldSource
{
  public:
    explicit BitSource(wire::BitReader& reader) : m_reader(reader) {}
    std::optional<std::uint64_t> take(unsigned bits) override
    {
        return bits == 0 ? m_reader.read_varint() : m_reader.read_bits(bits);
    }
    /// Inputs name entities by the server's ids (ReplicationClient::server_entity gives them).
    EntityId map_entity(std::uint64_t entity) override { return EntityId{static_cast<std::uint32_t>(entity)}; }

  private:
    wire::BitReader& m_reader;
};

void write_fields(wire::BitWriter& writer, const Fields& fields)
{
    for (const auto& [value, bits] : fields)
    {
        if (bits == 0)
            writer.write_varint(value);
        else
            writer.write_bits(value, bits);
    }
}

}  // namespace

std::vector<std::byte> encode_inputs(Tick newest, std::size_t count,
                                     const std::function<bool(std::size_t, WriteStream&)>& write_input)
{
    wire::BitWriter writer;
    writer.write_varint(newest);
    writer.write_bits(count, 8);
    Fields previous, current;
    for (std::size_t index = 0; index < count; ++index)
    {
        current.clear();
        Collector collector(current);
        WriteStream stream(collector);
        if (!write_input(index, stream))
            return {};  // a value outside its declared range: the game's bug, nothing is sent
        if (index > 0)
        {
            const bool same = current == previous;
            writer.write_bool(same);
            if (same)
                continue;
        }
        write_fields(writer, current);
        std::swap(previous, current);
    }
    return writer.seal();
}

bool decode_inputs(Bytes packet, std::size_t max_count, Tick& newest, std::size_t& count,
                   const std::function<bool(std::size_t, ReadStream*)>& read_input)
{
    wire::BitReader reader(packet);
    const auto tick = reader.read_varint();
    const auto how_many = reader.read_bits(8);
    if (!tick || *tick > UINT32_MAX || !how_many || *how_many == 0 || *how_many > max_count)
        return false;
    newest = static_cast<Tick>(*tick);
    count = static_cast<std::size_t>(*how_many);
    BitSource source(reader);
    for (std::size_t index = 0; index < count; ++index)
    {
        if (index > 0)
        {
            const auto same = reader.read_bool();
            if (!same)
                return false;
            if (*same)
            {
                if (!read_input(index, nullptr))
                    return false;
                continue;
            }
        }
        ReadStream stream(source);
        if (!read_input(index, &stream))
            return false;
    }
    return reader.bits_remaining() < 8;  // only the final byte's padding may follow
}

}  // namespace eustress::net::detail
