// The server's input reader: any bytes from a client, at any server tick, then the tick's input taken.
#include <cstring>

#include "eustress/net/prediction.hpp"

using namespace eustress::net;

namespace {

struct Move
{
    std::int32_t dx = 0;
    std::int32_t dy = 0;
    bool fire = false;
    float aim = 0.0f;
    std::uint64_t sequence = 0;
};

InputCodec<Move> codec()
{
    return InputCodec<Move>([](auto& stream, Move& move) {
        return stream.integer(move.dx, -1, 1) && stream.integer(move.dy, -1, 1) && stream.boolean(move.fire) &&
               stream.bounded_float(move.aim, FloatRange{-180.0f, 180.0f, 0.5f}) && stream.varint(move.sequence);
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static InputBuffer<Move> buffer(codec());
    if (size < 4)
        return 0;
    Tick server_tick = 0;
    std::memcpy(&server_tick, data, sizeof server_tick);
    const Bytes packet(reinterpret_cast<const std::byte*>(data) + 4, size - 4);
    (void)buffer.receive(ClientId{1}, packet, server_tick);
    (void)buffer.take(ClientId{1}, server_tick);
    buffer.forget(ClientId{1});  // one input per run: no state carried between inputs
    return 0;
}
