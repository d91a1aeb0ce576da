// RAII wrappers over libopus: one encoder per talking client, one decoder per speaker a listener hears.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "eustress/net/result.hpp"
#include "eustress/net/voice.hpp"

namespace eustress::net::voice {

class OpusEncoderHandle
{
  public:
    /// Errors: InvalidArgument (the configuration fails validate(), or libopus refuses it).
    static Result<OpusEncoderHandle> create(const VoiceCodecConfig& config);
    OpusEncoderHandle(OpusEncoderHandle&&) noexcept;
    OpusEncoderHandle& operator=(OpusEncoderHandle&&) noexcept;
    ~OpusEncoderHandle();

    /// Encodes one frame (config.frame_samples() samples) into `out`; returns the packet's size, or an error.
    Result<std::size_t> encode(std::span<const std::int16_t> frame, std::span<std::uint8_t> out);
    /// Samples of algorithmic delay the decoder's output lags the encoder's input (the encoder's lookahead).
    std::uint32_t lookahead() const;
    const VoiceCodecConfig& config() const noexcept { return m_config; }

  private:
    struct Deleter
    {
        void operator()(void* encoder) const noexcept;
    };
    OpusEncoderHandle(std::unique_ptr<void, Deleter> encoder, const VoiceCodecConfig& config);
    std::unique_ptr<void, Deleter> m_encoder;
    VoiceCodecConfig m_config;
};

class OpusDecoderHandle
{
  public:
    /// Errors: InvalidArgument (a rate other than 48000, 24000, 16000 (or 12000, 8000)).
    static Result<OpusDecoderHandle> create(std::uint32_t sample_rate);
    OpusDecoderHandle(OpusDecoderHandle&&) noexcept;
    OpusDecoderHandle& operator=(OpusDecoderHandle&&) noexcept;
    ~OpusDecoderHandle();

    /// Decodes a packet into `out` (one frame long); returns the samples written or an error (a corrupt packet).
    Result<std::size_t> decode(std::span<const std::uint8_t> packet, std::span<std::int16_t> out);
    /// Packet loss concealment: fills `out` with the decoder's guess for a lost frame.
    Result<std::size_t> conceal(std::span<std::int16_t> out);
    /// Recovers the frame before `next` from `next`'s in-band FEC (or conceals when it carries none).
    Result<std::size_t> decode_fec(std::span<const std::uint8_t> next, std::span<std::int16_t> out);
    std::uint32_t sample_rate() const noexcept { return m_rate; }

  private:
    struct Deleter
    {
        void operator()(void* decoder) const noexcept;
    };
    OpusDecoderHandle(std::unique_ptr<void, Deleter> decoder, std::uint32_t rate);
    std::unique_ptr<void, Deleter> m_decoder;
    std::uint32_t m_rate;
};

/// Samples in an Opus packet at `sample_rate`, from its TOC byte alone (no decoder), or 0 when it is malformed.
std::size_t opus_packet_samples(std::span<const std::uint8_t> packet, std::uint32_t sample_rate) noexcept;
/// Whether the Opus packet carries in-band FEC (LBRR) data.
bool opus_packet_has_fec(std::span<const std::uint8_t> packet) noexcept;

}  // namespace eustress::net::voice
