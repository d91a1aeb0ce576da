#include "voice/opus_codec.hpp"

#include <string>

#include <opus/opus.h>

namespace eustress::net::voice {

namespace {

Error opus_error(const char* what, int code)
{
    return Error{ErrorCode::InvalidArgument, std::string("voice: ") + what + ": " + opus_strerror(code)};
}

OpusEncoder* as_encoder(void* p) noexcept
{
    return static_cast<OpusEncoder*>(p);
}

OpusDecoder* as_decoder(void* p) noexcept
{
    return static_cast<OpusDecoder*>(p);
}

}  // namespace

void OpusEncoderHandle::Deleter::operator()(void* encoder) const noexcept
{
    opus_encoder_destroy(as_encoder(encoder));
}

void OpusDecoderHandle::Deleter::operator()(void* decoder) const noexcept
{
    opus_decoder_destroy(as_decoder(decoder));
}

OpusEncoderHandle::OpusEncoderHandle(std::unique_ptr<void, Deleter> encoder, const VoiceCodecConfig& config)
    : m_encoder(std::move(encoder)), m_config(config)
{}
OpusEncoderHandle::OpusEncoderHandle(OpusEncoderHandle&&) noexcept = default;
OpusEncoderHandle& OpusEncoderHandle::operator=(OpusEncoderHandle&&) noexcept = default;
OpusEncoderHandle::~OpusEncoderHandle() = default;

Result<OpusEncoderHandle> OpusEncoderHandle::create(const VoiceCodecConfig& config)
{
    if (auto valid = config.validate(); !valid)
        return valid.error();
    const int application =
        config.application == VoiceApplication::Voip ? OPUS_APPLICATION_VOIP : OPUS_APPLICATION_RESTRICTED_LOWDELAY;
    int error = OPUS_OK;
    std::unique_ptr<void, Deleter> encoder(
        opus_encoder_create(static_cast<opus_int32>(config.sample_rate), 1, application, &error));
    if (error != OPUS_OK || !encoder)
        return opus_error("opus_encoder_create", error);
    OpusEncoder* raw = as_encoder(encoder.get());
    const opus_int32 settings[][2] = {
        {OPUS_SET_BITRATE_REQUEST, static_cast<opus_int32>(config.bitrate)},
        {OPUS_SET_INBAND_FEC_REQUEST, config.fec ? 1 : 0},
        {OPUS_SET_PACKET_LOSS_PERC_REQUEST, static_cast<opus_int32>(config.expected_loss_percent)},
        {OPUS_SET_DTX_REQUEST, config.dtx ? 1 : 0},
        {OPUS_SET_SIGNAL_REQUEST, OPUS_SIGNAL_VOICE},
        {OPUS_SET_VBR_REQUEST, 1},
    };
    for (const auto& [request, value] : settings)
        if (int code = opus_encoder_ctl(raw, request, value); code != OPUS_OK)
            return opus_error("opus_encoder_ctl", code);
    return OpusEncoderHandle(std::move(encoder), config);
}

Result<std::size_t> OpusEncoderHandle::encode(std::span<const std::int16_t> frame, std::span<std::uint8_t> out)
{
    if (frame.size() != m_config.frame_samples())
        return Error{ErrorCode::InvalidArgument, "voice: a frame must be codec.frame_samples() long"};
    const int size = opus_encode(as_encoder(m_encoder.get()), frame.data(), static_cast<int>(frame.size()), out.data(),
                                 static_cast<opus_int32>(out.size()));
    if (size < 0)
        return opus_error("opus_encode", size);
    return static_cast<std::size_t>(size);
}

std::uint32_t OpusEncoderHandle::lookahead() const
{
    opus_int32 samples = 0;
    opus_encoder_ctl(as_encoder(m_encoder.get()), OPUS_GET_LOOKAHEAD(&samples));
    return static_cast<std::uint32_t>(samples);
}

OpusDecoderHandle::OpusDecoderHandle(std::unique_ptr<void, Deleter> decoder, std::uint32_t rate)
    : m_decoder(std::move(decoder)), m_rate(rate)
{}
OpusDecoderHandle::OpusDecoderHandle(OpusDecoderHandle&&) noexcept = default;
OpusDecoderHandle& OpusDecoderHandle::operator=(OpusDecoderHandle&&) noexcept = default;
OpusDecoderHandle::~OpusDecoderHandle() = default;

Result<OpusDecoderHandle> OpusDecoderHandle::create(std::uint32_t sample_rate)
{
    int error = OPUS_OK;
    std::unique_ptr<void, Deleter> decoder(opus_decoder_create(static_cast<opus_int32>(sample_rate), 1, &error));
    if (error != OPUS_OK || !decoder)
        return opus_error("opus_decoder_create", error);
    return OpusDecoderHandle(std::move(decoder), sample_rate);
}

Result<std::size_t> OpusDecoderHandle::decode(std::span<const std::uint8_t> packet, std::span<std::int16_t> out)
{
    if (packet.empty())
        return Error{ErrorCode::InvalidArgument, "voice: an empty Opus packet"};
    const int samples = opus_decode(as_decoder(m_decoder.get()), packet.data(), static_cast<opus_int32>(packet.size()),
                                    out.data(), static_cast<int>(out.size()), 0);
    if (samples < 0)
        return opus_error("opus_decode", samples);
    return static_cast<std::size_t>(samples);
}

Result<std::size_t> OpusDecoderHandle::conceal(std::span<std::int16_t> out)
{
    const int samples =
        opus_decode(as_decoder(m_decoder.get()), nullptr, 0, out.data(), static_cast<int>(out.size()), 0);
    if (samples < 0)
        return opus_error("opus_decode (concealment)", samples);
    return static_cast<std::size_t>(samples);
}

Result<std::size_t> OpusDecoderHandle::decode_fec(std::span<const std::uint8_t> next, std::span<std::int16_t> out)
{
    const int samples = opus_decode(as_decoder(m_decoder.get()), next.data(), static_cast<opus_int32>(next.size()),
                                    out.data(), static_cast<int>(out.size()), 1);
    if (samples < 0)
        return opus_error("opus_decode (FEC)", samples);
    return static_cast<std::size_t>(samples);
}

std::size_t opus_packet_samples(std::span<const std::uint8_t> packet, std::uint32_t sample_rate) noexcept
{
    if (packet.empty())
        return 0;
    const int samples = opus_packet_get_nb_samples(packet.data(), static_cast<opus_int32>(packet.size()),
                                                   static_cast<opus_int32>(sample_rate));
    if (samples <= 0)
        return 0;
    // The TOC alone does not prove the frame lengths fit: parse them as the decoder would.
    const unsigned char* frames[48];
    opus_int16 sizes[48];
    unsigned char toc = 0;
    int offset = 0;
    if (opus_packet_parse(packet.data(), static_cast<opus_int32>(packet.size()), &toc, frames, sizes, &offset) <= 0)
        return 0;
    return static_cast<std::size_t>(samples);
}

bool opus_packet_has_fec(std::span<const std::uint8_t> packet) noexcept
{
    if (packet.empty())
        return false;
    // CELT-only packets (TOC config 16..31) never carry LBRR. In SILK and hybrid ones, the range coder's first
    // symbols are equiprobable bits, so they are the first frame's top bits: one VAD flag per 20 ms SILK frame,
    // then the LBRR flag (RFC 6716 section 4.2.3; libopus 1.5's opus_packet_has_lbrr reads it the same way).
    if ((packet[0] >> 3) >= 16)
        return false;
    const unsigned char* frames[48];
    opus_int16 sizes[48];
    unsigned char toc = 0;
    int offset = 0;
    if (opus_packet_parse(packet.data(), static_cast<opus_int32>(packet.size()), &toc, frames, sizes, &offset) <= 0 ||
        sizes[0] == 0)
        return false;
    const int frame_ms = opus_packet_get_samples_per_frame(packet.data(), 48000) / 48;
    const int silk_frames = frame_ms <= 20 ? 1 : frame_ms / 20;
    const bool stereo = (packet[0] & 0x04) != 0;
    bool lbrr = (frames[0][0] >> (7 - silk_frames)) & 1;
    if (stereo)
        lbrr = lbrr || ((frames[0][0] >> (6 - 2 * silk_frames)) & 1);
    return lbrr;
}

}  // namespace eustress::net::voice
