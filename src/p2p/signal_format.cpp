#include "p2p/signal_format.hpp"

#include <array>
#include <cstring>

#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::p2p {
namespace {

// One type byte per message; the order of the Signal variant plus one, so 0 is never a valid type.
constexpr std::uint8_t type_of(const Signal& signal) noexcept
{
    return static_cast<std::uint8_t>(signal.index() + 1);
}

class Writer
{
  public:
    Writer() : m_writer(m_buffer) {}
    void u8(std::uint8_t v) { m_ok = m_ok && m_writer.write_u8(v); }
    void u32(std::uint32_t v) { m_ok = m_ok && m_writer.write_u32(v); }
    void id(ClientId v) { m_ok = m_ok && m_writer.write_u64(static_cast<std::uint64_t>(v)); }
    void raw(Bytes bytes) { m_ok = m_ok && m_writer.write_bytes(bytes); }
    void text(std::string_view s, std::size_t limit)
    {
        m_ok = m_ok && s.size() <= limit && m_writer.write_u16(static_cast<std::uint16_t>(s.size()));
        raw(std::as_bytes(std::span(s.data(), s.size())));
    }
    void blob(Bytes bytes, std::size_t limit)
    {
        m_ok = m_ok && bytes.size() <= limit && m_writer.write_u16(static_cast<std::uint16_t>(bytes.size()));
        raw(bytes);
    }
    // An encoder is only ever given what this process built; a field over its bound is a bug, not input.
    std::vector<std::byte> finish() const
    {
        if (!m_ok)
            return {};
        auto written = m_writer.written();
        return {written.begin(), written.end()};
    }

  private:
    std::array<std::byte, kMaxSignalSize> m_buffer{};
    wire::ByteWriter m_writer;
    bool m_ok = true;
};

class Reader
{
  public:
    explicit Reader(Bytes bytes) : m_reader(bytes) {}
    bool u8(std::uint8_t& v) { return take(m_reader.read_u8(), v); }
    bool u32(std::uint32_t& v) { return take(m_reader.read_u32(), v); }
    bool id(ClientId& v)
    {
        auto value = m_reader.read_u64();
        if (value)
            v = ClientId{*value};
        return value.has_value();
    }
    template <std::size_t N> bool raw(std::array<std::uint8_t, N>& out)
    {
        auto bytes = m_reader.read_bytes(N);
        if (bytes)
            std::memcpy(out.data(), bytes->data(), N);
        return bytes.has_value();
    }
    template <std::size_t N> bool raw(std::array<std::byte, N>& out)
    {
        auto bytes = m_reader.read_bytes(N);
        if (bytes)
            std::memcpy(out.data(), bytes->data(), N);
        return bytes.has_value();
    }
    bool text(std::string& out, std::size_t limit)
    {
        auto bytes = sized(limit);
        if (bytes)
            out.assign(reinterpret_cast<const char*>(bytes->data()), bytes->size());
        return bytes.has_value();
    }
    bool blob(std::vector<std::byte>& out, std::size_t limit)
    {
        auto bytes = sized(limit);
        if (bytes)
            out.assign(bytes->begin(), bytes->end());
        return bytes.has_value();
    }
    bool flag(bool& out)
    {
        std::uint8_t value = 0;
        if (!u8(value) || value > 1)
            return false;
        out = value == 1;
        return true;
    }
    bool slot(AgentSlot& out)
    {
        std::uint8_t value = 0;
        if (!u8(value) || value > static_cast<std::uint8_t>(AgentSlot::StandbyTurn))
            return false;
        out = static_cast<AgentSlot>(value);
        return true;
    }
    bool at_end() const { return m_reader.remaining() == 0; }

  private:
    template <typename T> static bool take(std::optional<T> value, T& out)
    {
        if (value)
            out = *value;
        return value.has_value();
    }
    std::optional<Bytes> sized(std::size_t limit)
    {
        auto size = m_reader.read_u16();
        if (!size || *size > limit)
            return std::nullopt;
        return m_reader.read_bytes(*size);
    }
    wire::ByteReader m_reader;
};

// One function per message, used in both directions through overloads on Writer and Reader: the encoder and the
// parser cannot drift apart.
bool fields(auto& s, SignalHello& m)
{
    return s.raw(m.pin.sha256);
}
bool fields(auto& s, SignalWelcome& m)
{
    return s.u32(m.mesh) && s.id(m.self) && s.raw(m.token_key.bytes) && s.text(m.stun, kMaxServerTextLength) &&
           s.text(m.turn, kMaxServerTextLength) && s.text(m.turn_username, kMaxServerTextLength) &&
           s.text(m.turn_password, kMaxServerTextLength);
}
bool fields(auto& s, SignalPeerAdded& m)
{
    return s.id(m.peer) && s.raw(m.pin.sha256) && s.blob(m.token, kMaxConnectTokenSize) && s.flag(m.direct);
}
bool fields(auto& s, SignalPeerRemoved& m)
{
    return s.id(m.peer);
}
bool fields(auto& s, SignalCredentials& m)
{
    return s.id(m.peer) && s.slot(m.slot) && s.u32(m.generation) && s.text(m.ufrag, kMaxIceCredentialLength) &&
           s.text(m.password, kMaxIceCredentialLength);
}
bool fields(auto& s, SignalCandidate& m)
{
    return s.id(m.peer) && s.slot(m.slot) && s.u32(m.generation) && s.text(m.candidate, kMaxCandidateLength);
}
bool fields(auto& s, SignalTokenRequest& m)
{
    return s.id(m.peer);
}
bool fields(auto& s, SignalPeerToken& m)
{
    return s.id(m.peer) && s.blob(m.token, kMaxConnectTokenSize);
}

// The writer's side of `fields`: every call writes and says yes; a field over its bound poisons the Writer.
struct WriteAdapter
{
    Writer& w;
    bool u8(std::uint8_t v) { return w.u8(v), true; }
    bool u32(std::uint32_t v) { return w.u32(v), true; }
    bool id(ClientId v) { return w.id(v), true; }
    template <typename A> bool raw(const A& array) { return w.raw(std::as_bytes(std::span(array))), true; }
    bool text(const std::string& s, std::size_t limit) { return w.text(s, limit), true; }
    bool blob(const std::vector<std::byte>& b, std::size_t limit) { return w.blob(b, limit), true; }
    bool slot(AgentSlot v) { return u8(static_cast<std::uint8_t>(v)); }
    bool flag(bool v) { return u8(v ? 1 : 0); }
};

template <std::size_t I = 0> std::optional<Signal> decode_as(std::uint8_t type, Reader& reader)
{
    if constexpr (I < std::variant_size_v<Signal>)
    {
        if (type != I + 1)
            return decode_as<I + 1>(type, reader);
        std::variant_alternative_t<I, Signal> message;
        if (!fields(reader, message) || !reader.at_end())
            return std::nullopt;
        return Signal{std::move(message)};
    }
    else
    {
        return std::nullopt;
    }
}

}  // namespace

bool is_member_signal(const Signal& signal) noexcept
{
    return std::holds_alternative<SignalHello>(signal) || std::holds_alternative<SignalCredentials>(signal) ||
           std::holds_alternative<SignalCandidate>(signal) || std::holds_alternative<SignalTokenRequest>(signal);
}

bool is_server_signal(const Signal& signal) noexcept
{
    return !std::holds_alternative<SignalHello>(signal) && !std::holds_alternative<SignalTokenRequest>(signal);
}

std::vector<std::byte> encode_signal(const Signal& signal)
{
    Writer writer;
    writer.u8(type_of(signal));
    WriteAdapter adapter{writer};
    // `fields` takes the message by reference for the reader's sake; the writer gets a copy of what it only reads.
    std::visit([&](auto message) { fields(adapter, message); }, signal);
    return writer.finish();
}

std::optional<Signal> decode_signal(Bytes bytes)
{
    if (bytes.size() > kMaxSignalSize)
        return std::nullopt;
    Reader reader(bytes);
    std::uint8_t type = 0;
    if (!reader.u8(type))
        return std::nullopt;
    return decode_as(type, reader);
}

std::string peer_server_name(ClientId member)
{
    return "mesh-peer:" + std::to_string(static_cast<std::uint64_t>(member));
}

std::vector<std::byte> encode_relay(ClientId member, Bytes payload)
{
    std::vector<std::byte> out(kRelayHeaderSize + payload.size());
    wire::ByteWriter writer(out);
    (void)writer.write_u64(static_cast<std::uint64_t>(member));
    (void)writer.write_bytes(payload);
    return out;
}

std::optional<RelayDatagram> decode_relay(Bytes bytes)
{
    wire::ByteReader reader(bytes);
    auto member = reader.read_u64();
    if (!member || reader.remaining() == 0)
        return std::nullopt;
    return RelayDatagram{ClientId{*member}, reader.rest()};
}

}  // namespace eustress::net::p2p
