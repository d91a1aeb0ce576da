// An adaptive binary range coder: each decision is coded with a probability that follows what the same context
// saw before, so a field class whose values repeat costs a fraction of a bit. Our own small implementation (no
// Debian package offers context-modelled coding of game fields); the predictive snapshot codec is its only user.
//
// Carry-less 32-bit range with a 64-bit low and a pending-0xFF count for carry propagation. The encoder ends on
// the value of its final interval with the most trailing zero bits and drops the zero bytes; the decoder reads
// zeros past the end, so they need not be sent. Reading more than kMaxPadBytes past the end marks it overrun.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace eustress::net::replication {

/// The probability that the next bit is 0, in 1/4096ths, adapted after each bit. Starts at one half.
struct AdaptiveBit
{
    static constexpr unsigned kBits = 12;
    static constexpr std::uint16_t kOne = 1u << kBits;
    /// Adapts fast: the models are reset for every snapshot and must learn within a few hundred decisions.
    static constexpr unsigned kShift = 4;
    std::uint16_t zero = kOne / 2;

    void update(unsigned bit) noexcept
    {
        if (bit == 0)
            zero = static_cast<std::uint16_t>(zero + ((kOne - zero) >> kShift));
        else
            zero = static_cast<std::uint16_t>(zero - (zero >> kShift));
    }
};

/// Renormalize when the range falls below this: one byte out (or in).
inline constexpr std::uint32_t kRangeTop = 1u << 24;

class RangeEncoderRun;

class RangeEncoder
{
  public:
    RangeEncoder() = default;
    /// Codes after `prefix` (a message's header), and `finish` returns both: one buffer, the stream never copied
    /// after the header. Its capacity is kept, so a caller that reserves room writes every byte in place.
    explicit RangeEncoder(std::vector<std::byte> prefix) noexcept : m_out(std::move(prefix)), m_start(m_out.size()) {}
    /// Inline: the server codes every decision of every client's snapshot through it.
    void encode(AdaptiveBit& model, unsigned bit);
    /// The low `Depth` bits of `symbol`, most significant first, each with the model of its node in a binary tree
    /// (`nodes[1]` the root, node n's children 2n and 2n + 1): the bytes `encode` gives bit by bit, with the
    /// interval held in registers between the rare renormalizations (an integer's length is 7 such bits).
    template <unsigned Depth> void encode_tree(AdaptiveBit* nodes, unsigned symbol);
    /// `count` (≤ 32) bits at probability one half each, most significant first.
    void encode_direct(std::uint32_t value, unsigned count);
    /// Ends the stream and returns its bytes (after the prefix, if it was given one); the encoder is then empty
    /// again.
    std::vector<std::byte> finish();

  private:
    friend class RangeEncoderRun;
    /// Moves bytes out until the range is wide again.
    void normalize();
    void shift_low();

    std::uint64_t m_low = 0;
    std::uint32_t m_range = 0xFFFFFFFFu;
    std::uint8_t m_cache = 0;
    std::uint64_t m_pending = 1;  ///< bytes held back: `m_cache` then (m_pending − 1) × 0xFF
    bool m_first = true;          ///< the first cached byte is the initial zero, which carries nothing: not written
    std::vector<std::byte> m_out;
    std::size_t m_start = 0;  ///< where the stream starts in m_out, after the prefix
};

/// A run of decisions coded into a RangeEncoder with its interval held here, by value: a run that lives in one
/// function keeps `low` and `range` in registers, and stores them only for the rare renormalization and when it
/// ends, where each RangeEncoder call loads and stores them (the server replays ~65 decisions per entity). The
/// bytes and model states are those of the same calls on the encoder; nothing else may code into the encoder
/// while a run is open.
class RangeEncoderRun
{
  public:
    explicit RangeEncoderRun(RangeEncoder& encoder) noexcept
        : m_encoder(encoder), m_low(encoder.m_low), m_range(encoder.m_range)
    {}
    ~RangeEncoderRun()
    {
        m_encoder.m_low = m_low;
        m_encoder.m_range = m_range;
    }
    RangeEncoderRun(const RangeEncoderRun&) = delete;
    RangeEncoderRun& operator=(const RangeEncoderRun&) = delete;

    void encode(AdaptiveBit& model, unsigned bit)
    {
        narrow(model, bit);
        if (m_range < kRangeTop)
            normalize();
    }
    template <unsigned Depth> void encode_tree(AdaptiveBit* nodes, unsigned symbol)
    {
        unsigned node = 1;
        // Unrolled: each level's shift a constant, no loop counter.
#pragma GCC unroll 8
        for (unsigned step = 1; step <= Depth; ++step)
        {
            const unsigned bit = (symbol >> (Depth - step)) & 1u;
            encode(nodes[node], bit);
            node = 2 * node + bit;
        }
    }
    void encode_direct(std::uint32_t value, unsigned count)
    {
        while (count-- > 0)
        {
            m_range >>= 1;
            if ((value >> count) & 1u)
                m_low += m_range;
            if (m_range < kRangeTop)
                normalize();
        }
    }

  private:
    /// The interval's part for `bit` under `model`, which then adapts.
    void narrow(AdaptiveBit& model, unsigned bit)
    {
        const std::uint32_t bound = (m_range >> AdaptiveBit::kBits) * model.zero;
        if (bit == 0)
            m_range = bound;
        else
        {
            m_low += bound;
            m_range -= bound;
        }
        model.update(bit);
    }
    /// Out of line, through the encoder, which moves the bytes out.
    void normalize()
    {
        m_encoder.m_low = m_low;
        m_encoder.m_range = m_range;
        m_encoder.normalize();
        m_low = m_encoder.m_low;
        m_range = m_encoder.m_range;
    }

    RangeEncoder& m_encoder;
    std::uint64_t m_low;
    std::uint32_t m_range;
};

inline void RangeEncoder::encode(AdaptiveBit& model, unsigned bit)
{
    RangeEncoderRun(*this).encode(model, bit);
}

template <unsigned Depth> void RangeEncoder::encode_tree(AdaptiveBit* nodes, unsigned symbol)
{
    RangeEncoderRun(*this).encode_tree<Depth>(nodes, symbol);
}

inline void RangeEncoder::encode_direct(std::uint32_t value, unsigned count)
{
    RangeEncoderRun(*this).encode_direct(value, count);
}

class RangeDecoder
{
  public:
    static constexpr std::size_t kMaxPadBytes = 8;
    explicit RangeDecoder(std::span<const std::byte> bytes) noexcept;
    unsigned decode(AdaptiveBit& model) noexcept;
    std::uint32_t decode_direct(unsigned count) noexcept;
    /// The decoder read further past the end than a finished stream can need: the input was cut short.
    bool overrun() const noexcept { return m_next > m_bytes.size() + kMaxPadBytes; }

  private:
    std::uint8_t next_byte() noexcept;
    void normalize() noexcept;

    std::span<const std::byte> m_bytes;
    std::size_t m_next = 0;
    std::uint32_t m_range = 0xFFFFFFFFu;
    std::uint32_t m_code = 0;
};

/// −log2(p) in 1/256 bits for 65 coarse steps of p: cost_of's table.
extern const std::array<std::uint32_t, 65> kDecisionCosts;

/// What coding a bit with `model` costs, in 1/256 bits, for the encoder's size estimates. Inline, as encode().
inline std::uint32_t cost_of(const AdaptiveBit& model, unsigned bit) noexcept
{
    const std::uint32_t zero = model.zero;
    const std::uint32_t p = bit == 0 ? zero : AdaptiveBit::kOne - zero;
    return kDecisionCosts[p * 65 / AdaptiveBit::kOne];
}

}  // namespace eustress::net::replication
