// Voice packets (src/voice/voice_packet.hpp): the parser on any bytes, the writer's round trip on whatever parses,
// and a stream tracker fed the parsed packet twice (the second must be refused as a duplicate).
//
// The seeds in corpus/voice_packet_fuzz were written by a few lines of Python from the layout in
// src/voice/voice_packet.hpp (header, varint speaker, sequence, timestamp, an Opus TOC byte and filler), not by our
// writer: 10 and 20 ms CELT at 48 kHz, 10 ms SILK at 16 kHz, an eight-byte speaker id, and a truncated one.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "voice/voice_packet.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
    auto parsed = voice::parse_voice_packet(bytes);
    const auto* packet = std::get_if<voice::VoicePacket>(&parsed);
    if (!packet)
        return 0;
    // Whatever parses writes back to the same bytes, unless its varint was not minimal (the writer's is).
    std::vector<std::uint8_t> out(kMaxVoiceMessage);
    const std::size_t written = voice::write_voice_packet(*packet, out);
    if (written == 0 || written > size)
        std::abort();
    if (written == size && !std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(written), data))
        std::abort();
    if (packet->payload.empty() || packet->payload.size() > kMaxVoicePayload)
        std::abort();
    voice::VoiceStreamTracker tracker;
    if (tracker.accept(*packet))
        std::abort();  // the first packet of a stream is always taken
    if (tracker.accept(*packet) != VoiceDrop::StaleSequence)
        std::abort();
    return 0;
}
