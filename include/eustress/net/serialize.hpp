// One serialize function per component type, run in both directions, so the writer and reader cannot drift:
//
//     struct Health { std::int32_t points = 100; eustress::net::EntityId attacker; };
//     auto serialize_health = [](auto& stream, Health& health) {
//         return stream.integer(health.points, 0, 100) && stream.entity(health.attacker);
//     };
//
// Each call both declares the field's quantization and moves it: a WriteStream reads `health` into quantized
// fields; a ReadStream writes fields back into `health`, checking every range and failing (false) on bad input.
#pragma once

#include <cstdint>
#include <optional>

#include "eustress/net/math.hpp"

namespace eustress::net {

/// Stable across the entity's life on the server; a client sees its own ids for the same entities (mapped).
enum class EntityId : std::uint32_t
{
};
inline constexpr EntityId kNoEntity{0};

/// A float range and the step of its grid: values decode within `resolution / 2` and are clamped to the range.
struct FloatRange
{
    float min = 0;
    float max = 1;
    float resolution = 0.001f;
};

/// Where a WriteStream puts quantized fields. `bits == 0` marks a variable-length field (varints, entity ids).
class FieldSink
{
  public:
    virtual void put(std::uint64_t value, unsigned bits) = 0;

  protected:
    ~FieldSink() = default;
};

/// Where a ReadStream takes them from: the wire, or fields already decoded. nullopt means malformed or exhausted.
class FieldSource
{
  public:
    virtual std::optional<std::uint64_t> take(unsigned bits) = 0;
    /// Turns a server entity id read from a field into the id the reader uses (the client's mirror ids).
    virtual EntityId map_entity(std::uint64_t server_entity) = 0;

  protected:
    ~FieldSource() = default;
};

class WriteStream
{
  public:
    static constexpr bool is_reading = false;
    static constexpr bool is_writing = true;

    explicit WriteStream(FieldSink& sink) noexcept : m_sink(sink) {}

    bool bits(std::uint32_t& value, unsigned bit_count);
    bool integer(std::int32_t& value, std::int32_t min, std::int32_t max);
    bool varint(std::uint64_t& value);
    bool boolean(bool& value);
    /// Exact, 32 bits: for values with no natural range. Prefer `bounded_float`.
    bool full_float(float& value);
    bool bounded_float(float& value, const FloatRange& range);
    bool vector(Vec3& value, const FloatRange& x, const FloatRange& y, const FloatRange& z);
    /// Smallest three, `component_bits` (2..16) bits for each of the three components sent.
    bool quaternion(Quat& value, unsigned component_bits);
    /// A reference to another networked entity; the client receives it remapped to its own id.
    bool entity(EntityId& value);

  private:
    FieldSink& m_sink;
};

class ReadStream
{
  public:
    static constexpr bool is_reading = true;
    static constexpr bool is_writing = false;

    explicit ReadStream(FieldSource& source) noexcept : m_source(source) {}

    bool bits(std::uint32_t& value, unsigned bit_count);
    bool integer(std::int32_t& value, std::int32_t min, std::int32_t max);
    bool varint(std::uint64_t& value);
    bool boolean(bool& value);
    bool full_float(float& value);
    bool bounded_float(float& value, const FloatRange& range);
    bool vector(Vec3& value, const FloatRange& x, const FloatRange& y, const FloatRange& z);
    bool quaternion(Quat& value, unsigned component_bits);
    bool entity(EntityId& value);

  private:
    FieldSource& m_source;
};

}  // namespace eustress::net
