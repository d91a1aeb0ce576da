// Hostile stream bytes: stream headers, control frames, length-prefixed messages, split at arbitrary points.
#include <deque>

#include "session/connection.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ChannelTable table = ChannelTable::defaults();
    for (auto role : {session::Connection::Role::Client, session::Connection::Role::Server})
    {
        std::deque<NetworkEvent> events;
        session::Connection::Settings settings;
        settings.role = role;
        settings.channels = &table;
        session::Connection connection(settings, events);
        // Each chunk: one byte (low 2 bits: stream id, bit 2: fin, high bits: length / 8) then the bytes.
        std::size_t offset = 0;
        while (offset < size && !connection.protocol_error())
        {
            const std::uint8_t control = data[offset++];
            const std::size_t length = std::min<std::size_t>((control >> 3) * 8u + 1u, size - offset);
            connection.on_stream_data(control & 3, Bytes(reinterpret_cast<const std::byte*>(data + offset), length),
                                      (control & 4) != 0, false, Timestamp{});
            offset += length;
        }
    }
    return 0;
}
