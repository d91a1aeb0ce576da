// For session tests that speak QUIC to a SessionWorld's server without a `Client`, to send what a Client never
// would: the transport pieces such a client needs, and one pass of its I/O.
#pragma once

#include <memory>
#include <vector>

#include "session_harness.hpp"
#include "transport/packet_batch.hpp"
#include "transport/quic_connection.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net::testing {

struct HandDrivenEnds
{
    std::unique_ptr<DatagramSocket> socket;
    std::unique_ptr<transport::PacketBatch> batch;
    /// Pinned to the world's server. It outlives the connections made with it, so a second one resumes with the
    /// first one's ticket and can send 0-RTT.
    std::unique_ptr<transport::ClientTlsContext> tls;

    HandDrivenEnds(SessionWorld& world, const char* address)
    {
        socket = std::move(world.network.bind(memory_address(address))).value();
        batch = std::make_unique<transport::PacketBatch>(*socket);
        transport::ClientTlsContext::Settings settings;
        settings.server_name = "localhost";
        settings.pins = {world.server->certificate_pin()};
        tls = std::move(transport::ClientTlsContext::create(settings)).value();
    }

    /// Everything received goes into `quic`, its timers run, and what it has to send goes out.
    void pump(transport::QuicConnection& quic, Timestamp now)
    {
        std::vector<ReceiveSlot> slots(32);
        for (std::size_t n; (n = socket->receive(slots, now)) > 0;)
            for (std::size_t i = 0; i < n; ++i)
                quic.receive(socket->local_address(), slots[i].from, slots[i].payload(), now);
        if (quic.expiry() <= now)
            quic.handle_expiry(now);
        quic.write(*batch, now);
        batch->flush(now);
    }
};

}  // namespace eustress::net::testing
